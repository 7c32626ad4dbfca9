"""Every benchmark of `python -m cnndemo bench` (outside the package: some drive AppTest)."""
