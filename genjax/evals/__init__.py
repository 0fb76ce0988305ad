"""Evaluations of trained runs: tools that read a run's checkpoint with
`genjax.training.restore.load_run` and score or sample it, outside the training loop; and
the feature space they score samples in (`classifier_features`), which the families that
report a Fréchet distance set up through `frechet_setup`."""
