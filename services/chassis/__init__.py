"""The chassis: cross-cutting code every service uses, and nothing domain-specific."""
