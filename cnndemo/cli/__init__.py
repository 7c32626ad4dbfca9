"""The command line: `python -m cnndemo presets|summary|train|evaluate|predict|bench`."""
