"""Models: presets, builders (pretrained or from scratch) and the TF-IDF baseline."""
