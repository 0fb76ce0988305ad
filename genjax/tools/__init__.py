"""What the tool mains do with trained runs: read each run as the model `genjax.load` makes
of it (`runs.load`), then score or sample it outside the training loop: a diffusion
model's bound and its Fréchet distance against sampling steps, a GAN's Parzen-window
score, the class-conditional scorers of the Bayes classifier, and the cross-run tables."""
