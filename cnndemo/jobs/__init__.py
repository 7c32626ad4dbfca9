"""Background training jobs: a manager in the server, workers in their own processes."""
