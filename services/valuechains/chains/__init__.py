"""Chains: each a "production line" equipping one part of police work, with one accountable owner."""
