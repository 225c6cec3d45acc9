"""Explanations ("leg uit"): deviations explained in advance and approved by a second architect."""
