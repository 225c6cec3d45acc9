"""Programmes: big ambitions ("grote ambities"), delivered through small initiatives."""
