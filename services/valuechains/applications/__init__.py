"""Applications: the IT products a chain delivers and keeps running, and how healthy they are."""
