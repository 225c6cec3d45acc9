"""principles: comply or explain ("pas toe of leg uit"), assessments and simplicity reviews."""
