"""Simplicity reviews ("alle ontwerpen en projecten beoordelen we op eenvoud")."""
