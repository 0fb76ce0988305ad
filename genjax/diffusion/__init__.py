"""Denoising diffusion (Ho et al., 2020): the forward process and its closed forms."""
