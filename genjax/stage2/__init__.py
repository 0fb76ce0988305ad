"""Second stages: what a model trained on a first stage's output needs of that first stage.

`first_stage`: a finished VQ-VAE run read back (checked, its objective rebuilt) and its
stored code grids. `codes`: the data, test terms and Fréchet reference shared by the priors
over those codes (the raster code prior and VAR, in `genjax.families`). `latents`: a
finished VAE or VQ-VAE run as latent diffusion reads it, continuous latents in and images
out. `reflow`: a finished flow-matching run's (noise, end point) pairs, the data of its
reflow (a second flow trained on the first one's couplings).
"""
