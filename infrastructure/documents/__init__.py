"""Documents: rendering, sealing, storing and delivering the letters a case issues."""
