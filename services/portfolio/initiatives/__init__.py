"""Initiatives: small, manageable projects that deliver working functionality ("kleine stappen")."""
