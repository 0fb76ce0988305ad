"""The VQ-VAE objective and its likelihood bound.

loss = -log p(x | z_q(x)) + ||sg[z_e] - e||^2 + beta ||z_e - sg[e]||^2 per image (the
codebook term only when the codebook is a parameter; the EMA variant moves the codes by
moving averages instead). With a discrete decoder likelihood the test bound is

  -log p(x) <= -log p(x | z_q(x)) - log p_prior(z_q(x)),

exact in its form because the posterior is deterministic (q(z|x) is one-hot, so the KL to
the prior is -log p_prior(z_q(x))). A uniform prior over N codes of K values gives
N log K nats; a learned prior gives its exact code NLL. Bits/dim divide by D ln 2, D the
number of pixel values. With model.scales (VAR's multi-scale residual tokenizer) the codes
of an image are its L = sum_k p_k^2 tokens, a [1, L] grid, and the VQ terms are VAR's:
averaged over the scales' cumulative f_hat, the codebook term also training the phi_k.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax.models import multiscale_quantizer as multiscale
from genjax.models import quantizer
from genjax.models.vqvae import VQVAE
from genjax.objectives import pixel_likelihoods

LIKELIHOODS = pixel_likelihoods.DISCRETE_LIKELIHOODS + ('mse',)


def uniform_code_nats(num_latents: int, num_codes: int) -> float:
  """-log p(z) under the uniform prior over `num_latents` codes of `num_codes` values."""
  return num_latents * math.log(num_codes)


def bits_per_dim(nats: jax.Array, num_dims: int) -> jax.Array:
  return nats / (num_dims * math.log(2.0))


def reconstruction_nll(likelihood: str, x01: jax.Array, mean: jax.Array,
                       log_scale: jax.Array) -> jax.Array:
  """-log p(x | z_q) per image [B] in nats; for 'mse', the summed squared error on [-1, 1]
  (a training loss, not a likelihood)."""
  x = pixel_likelihoods.to_centres(x01)
  if likelihood == 'mse':
    per_pixel = jnp.square(x - mean)
  else:
    per_pixel = -pixel_likelihoods.log_likelihood(likelihood, x, mean, log_scale)
  return jnp.sum(per_pixel.reshape(per_pixel.shape[0], -1), axis=-1)


def decoder_mean01(likelihood: str, mean: jax.Array) -> jax.Array:
  """The decoder's mean image in [0, 1], for figures."""
  del likelihood  # every likelihood here has its location on the [-1, 1] bin centres
  return jnp.clip((mean + 1.0) / 2.0, 0.0, 1.0)


class Quantization(NamedTuple):
  codes: jax.Array  # int32 [B, h, w * G], or [B, 1, L] multi-scale tokens
  z_st: jax.Array  # the decoder's input: the quantized latent, straight through to z_e
  commitment: jax.Array  # [B], beta included
  codebook_term: jax.Array  # [B]; moves a codebook parameter and the phi_k
  assigned_inputs: jax.Array  # [..., D] the vectors the codes were chosen for (EMA)
  assigned_codes: jax.Array  # [...] their codes


@dataclasses.dataclass(frozen=True)
class VQObjective:
  """What the VQ-VAE's loss and bound need to know besides the params."""
  model: VQVAE
  num_codes: int
  likelihood: str = 'discretized_logistic'
  beta: float = 0.25
  codebook: str = 'ema'  # 'ema' (model state) | 'loss' (a parameter, moved by its loss)
  ema_decay: float = 0.99
  dead_code_threshold: float = 0.0  # EMA count below which a code restarts; 0: never

  @property
  def scales(self) -> tuple[int, ...]:
    return tuple(self.model.scales)

  @property
  def token_shape(self) -> tuple[int, int]:
    """The grid a prior models: the code map, or [1, L] multi-scale tokens."""
    if self.scales:
      return 1, multiscale.sequence_length(self.scales)
    return self.model.code_shape

  def encode(self, net, x01):
    return self.model.apply(net, pixel_likelihoods.to_centres(x01), method=VQVAE.encode)

  def decode(self, net, z_q):
    return self.model.apply(net, z_q, method=VQVAE.decode)

  def phi_fn(self, net) -> multiscale.Phi:
    return lambda h, k: self.model.apply(net, h, k, method=VQVAE.phi)

  def quantize(self, net, codebook, z) -> Quantization:
    if not self.scales:
      q = quantizer.quantize(z, codebook)
      return Quantization(q.codes, q.z_st, self.beta * quantizer.commitment_loss(z, q.z_q),
                          quantizer.codebook_loss(z, quantizer.lookup(q.codes, codebook)),
                          z, q.codes)
    mq = multiscale.quantize(z, codebook, self.scales, self.phi_fn(net))
    commitment, codebook_term = multiscale.vq_terms(z, mq.f_hats, self.beta)
    return Quantization(mq.tokens[:, None, :], mq.z_st, commitment, codebook_term,
                        mq.inputs, mq.tokens)

  def forward(self, net, codebook, x01):
    """(quantization, per-image reconstruction NLL [B])."""
    q = self.quantize(net, codebook, self.encode(net, x01))
    mean, log_scale = self.decode(net, q.z_st)
    return q, reconstruction_nll(self.likelihood, x01, mean, log_scale)

  def loss_and_state(self, params, model_state, x01, rng):
    """(mean loss, aux metrics, new model state) for one batch."""
    q, recon = self.forward(params['net'], self.codebook_of(params, model_state), x01)
    loss = recon + q.commitment
    aux = {'recon_nll': jnp.mean(recon), 'commitment': jnp.mean(q.commitment),
           'perplexity': quantizer.perplexity(jnp.sum(
               quantizer.code_counts(q.codes, self.num_codes), 0))}
    if self.codebook == 'loss' or self.scales:
      loss = loss + q.codebook_term
      aux['codebook_loss'] = jnp.mean(q.codebook_term)
    if self.codebook == 'ema':
      state = quantizer.ema_update(quantizer.EMACodebook(**model_state), q.assigned_inputs,
                                   q.assigned_codes, self.ema_decay)
      if self.dead_code_threshold > 0:
        state, moved = quantizer.restart_dead_codes(rng, state, q.assigned_inputs,
                                                    self.dead_code_threshold)
        aux['restarted_codes'] = moved.astype(jnp.float32)
      model_state = state._asdict()
    if self.likelihood != 'mse':
      aux['bits_per_dim'] = bits_per_dim(aux['recon_nll'], math.prod(x01.shape[1:]))
    return jnp.mean(loss), aux, model_state

  def codebook_of(self, params, model_state):
    return params['codebook'] if self.codebook == 'loss' else model_state['codebook']

  def eval_terms(self, params, model_state, x01) -> dict[str, jax.Array]:
    """Per-image test metrics; 'code_counts' [B, K] becomes perplexity and usage."""
    q, recon = self.forward(params['net'], self.codebook_of(params, model_state), x01)
    out = {'code_counts': quantizer.code_counts(q.codes, self.num_codes),
           'commitment': q.commitment}
    if self.likelihood == 'mse':
      out['squared_error'] = recon
      return out
    dims = math.prod(x01.shape[1:])
    code_nats = uniform_code_nats(math.prod(q.codes.shape[1:]), self.num_codes)
    out['recon_nll'] = recon
    out['recon_bits_per_dim'] = bits_per_dim(recon, dims)
    out['bound_bits_per_dim_uniform_prior'] = bits_per_dim(recon + code_nats, dims)
    return out

  def codes(self, params, model_state, x01) -> jax.Array:
    """The code grid int32 [B, h, w] of each image ([B, 1, L] multi-scale tokens)."""
    net, codebook = params['net'], self.codebook_of(params, model_state)
    z = self.encode(net, x01)
    if self.scales:
      return self.quantize(net, codebook, z).codes
    return quantizer.nearest_codes(z, codebook)

  def latent_from_codes(self, params, model_state, codes) -> jax.Array:
    """Code grids (or [B, 1, L] tokens) -> the decoder's input z_q (f_hat)."""
    codebook = self.codebook_of(params, model_state)
    if self.scales:
      return multiscale.f_hat_from_tokens(codes.reshape(codes.shape[0], -1), codebook,
                                          self.scales, self.phi_fn(params['net']))
    return quantizer.lookup(codes, codebook)

  def reconstructions_by_scale(self, params, model_state, x01) -> jax.Array:
    """The decoder's mean from the cumulative f_hat after each scale, coarse to fine:
    images [B, H, W, C] -> [S, B, H, W, C] (multi-scale tokenizers only)."""
    return self.decodings_by_scale(params, model_state, self.codes(params, model_state, x01))

  def decodings_by_scale(self, params, model_state, codes) -> jax.Array:
    """Tokens [B, 1, L] -> the decoder's mean after each scale's f_hat [S, B, H, W, C]."""
    f_hats = multiscale.cumulative_f_hats(codes.reshape(codes.shape[0], -1),
                                          self.codebook_of(params, model_state), self.scales,
                                          self.phi_fn(params['net']))
    return jnp.stack([self.decode(params['net'], f_hat)[0] for f_hat in f_hats])

  def decode_codes(self, params, model_state, codes) -> tuple[jax.Array, jax.Array]:
    """Code grids [B, h, w] (or tokens [B, 1, L]) -> the decoder's (mean, log_scale)."""
    return self.decode(params['net'], self.latent_from_codes(params, model_state, codes))


def summarise_codes(means: dict) -> dict:
  """Eval means with 'code_counts' (mean counts per image [K]) -> scalar codebook health:
  perplexity over the split, and the fraction of codes it uses."""
  means = dict(means)
  counts = jnp.asarray(means.pop('code_counts'))
  means['perplexity'] = quantizer.perplexity(counts)
  means['codes_used'] = quantizer.used_fraction(counts)
  return {k: float(v) for k, v in means.items()}


# Images a compiled encoder call codes at once.
ENCODE_BATCH = 1000


def make_objective(m, o, image_shape, dtype: str = 'float32') -> VQObjective:
  """The objective (and its VQ-VAE) of a run's model and objective config sections; the
  network computes in `dtype`, the quantizer and the losses in float32."""
  model = VQVAE(image_shape=tuple(image_shape), channels=m.channels, res_hidden=m.res_hidden,
                num_res_blocks=m.num_res_blocks, downsamples=m.downsamples,
                code_dim=m.code_dim, code_groups=m.get('code_groups', 1),
                scales=tuple(int(p) for p in m.get('scales', ())),  # older runs lack them
                dtype=dtype)
  return VQObjective(model=model, num_codes=m.num_codes, likelihood=m.likelihood,
                     beta=o.beta, codebook=o.codebook, ema_decay=o.ema_decay,
                     dead_code_threshold=o.dead_code_threshold)


def objective_from_signature(signature) -> VQObjective:
  """The stage-1 objective a saved run's signature describes (for a stage-2 reader)."""
  s = ml_collections.ConfigDict(dict(signature))
  return make_objective(s.model, s.objective, s.image_shape)


def encoder(objective: VQObjective):
  """(params, model_state, uint8 images [N, H, W, C]) -> int32 code grids [N, h, w], in
  batches; compiled once, whatever the params (make it once per objective)."""
  codes_of = jax.jit(objective.codes)

  def encode(params, model_state, images: np.ndarray) -> np.ndarray:
    out = [np.asarray(codes_of(params, model_state,
                               jnp.asarray(images[i:i + ENCODE_BATCH], jnp.float32) / 255.0))
           for i in range(0, len(images), ENCODE_BATCH)]
    return np.concatenate(out) if out else np.zeros((0,), np.int32)

  return encode
