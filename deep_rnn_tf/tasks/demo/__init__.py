"""The demo task: classify the direction of a moving blob in short generated clips (no download)."""
