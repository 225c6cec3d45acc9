"""Principles: the few simple rules of the game, in five categories."""
