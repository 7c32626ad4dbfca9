"""The machinery every lesson stands on: layer specs, data, training, checkpoints, inference."""
