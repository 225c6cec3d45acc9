"""Keeping assessments current by following the other services' change feeds."""
