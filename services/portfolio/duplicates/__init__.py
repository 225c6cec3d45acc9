"""Ontdubbelen: finding EBOs and initiatives that look like the same thing built twice."""
