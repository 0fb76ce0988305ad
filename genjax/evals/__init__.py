"""Scores over arrays, not runs: what a family computes while training (the feature space
of its Fréchet distance, `classifier_features`, set up by `frechet_setup`; word analogies)
and what the tools score with (Parzen windows, Bayes' rule over class-conditional
densities), and the paper variants' parameter counts. The tools that read trained runs
are `genjax.tools`."""
