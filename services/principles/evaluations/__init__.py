"""Evaluations: running every applicable rule over a subject or a collection, read by reference."""
