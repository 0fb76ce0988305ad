"""Denoising diffusion (Ho et al., 2020): the forward process here, and where every other
piece of genjax's DDPM lives (this package re-exports none of them).

- `genjax.diffusion.schedules`: noise schedules (linear, cosine, and Rombach et al.'s
  scaled_linear for latents), q(x_t|x_0), the posterior
  q(x_{t-1}|x_t, x_0) and the eps / x0 / v conversions; `schedule_of` builds a run's.
- `genjax.models.unet`: the U-Net (time embedding, residual blocks, attention, optional
  class conditioning); `make_model` builds a run's from its model config or signature.
- `genjax.objectives.diffusion`: the simplified denoising loss and the variational bound in
  bits/dim, with the data scaling and the discretized decoder at t = 1.
- `genjax.samplers.diffusion`: ancestral (DDPM) and DDIM samplers, strided timesteps and
  classifier-free guidance.
- `genjax.families.diffusion`: the family the training loop runs (config schema, loss,
  evaluation, samples and the Fréchet distance as artifacts).
- `genjax.tools.bound`: a trained run's bound on test images with its standard error,
  through the likelihood of the model `genjax.load` reads.
- `genjax.tools.fd_vs_steps`: the Fréchet distance against sampling steps, DDIM against
  strided DDPM, from that model's samples.
- `genjax.objectives.probability_flow`: the run's probability-flow ODE (Song et al.,
  2021), whose exact likelihood `genjax.tools.ode_likelihood` computes through
  `genjax.objectives.ode_likelihood`.
- `genjax.families.latent_diffusion`: the same objective and sampler over a frozen VAE's
  or VQ-VAE's latents; `genjax.families.flow_matching`: the same U-Net on the straight
  path's velocity.
- `genjax.figures.diffusion`: a run's figures (samples, DDIM samples, progressive
  generation, the forward process, class grids by guidance scale).
- `genjax.figures.diffusion_fd`: the figure of `fd_vs_steps`'s JSON.

Configs and mains: configs/diffusion.py; experiments/diffusion.py (training),
experiments/diffusion_bound.py, experiments/diffusion_fd_steps.py and
experiments/ode_likelihood.py (the tools).
"""
