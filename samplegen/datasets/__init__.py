"""Built-in datasets (the travel-sim simulator) and loaders for real CVR formats."""
