"""One module per lesson concept: the numbers a lesson page shows, computed with real PyTorch."""
