"""Document inspection (what a file really is), classification (what it is about) and naming."""
