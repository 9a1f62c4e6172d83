"""Command-line doors of the data formats: extract-frames, polygon-crops and the synthetic generators."""
