"""Rounds of the rolling portfolio: the whole portfolio, ranked and decided, several times a year."""
