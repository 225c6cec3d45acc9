"""portfolio: programmes, initiatives, EBOs and the rolling portfolio."""
