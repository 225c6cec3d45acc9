"""Teams: the agile teams that do a chain's work, with their internal and external staff."""
