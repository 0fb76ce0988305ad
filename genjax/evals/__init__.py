"""Evaluations of trained runs: tools that read a run's checkpoint with
`genjax.training.restore.load_run` and score or sample it, outside the training loop."""
