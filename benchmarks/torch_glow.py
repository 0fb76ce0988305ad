"""PyTorch reference side of the Glow training benchmark.

The Glow of genjax/models/glow.py and genjax/models/glow_layers.py written as a PyTorch
user would (NCHW, nn.Conv2d, F.conv2d for the 1x1), at the sizes of configs/glow.py:cpu:

* per level: squeeze (2x2 blocks to channels), then K steps of ActNorm (per-channel loc and
  log-scale, set from the first batch so each channel has zero mean and unit variance),
  the LU 1x1 convolution (W = P L (U + diag exp(s)), P the channel reversal, L and U
  stored as full c x c matrices and masked, as genjax stores them; log-det H W sum(s)),
  and the affine coupling (the first half of the channels through Conv2d 3x3 -> ReLU ->
  Conv2d 1x1 -> ReLU -> zero-init Conv2d 3x3, whose even output channels shift and odd
  ones scale the second half, log-scale tanh(raw), or log_sigmoid(raw + 2) for 'sigmoid');
* after each level but the last, half the channels are factored out under a Gaussian
  whose mean and log-std a zero-init Conv2d 3x3 of the kept half gives (even / odd output
  channels); the top latent has a learned mean and log-std per value.

The loss is genjax's: y = (k + u) / 256 with u ~ U[0, 1), Glow reads y - 1/2, and the
loss is the mean of (-log p(y) + D ln 256) / (D ln 2) over the batch.

Channel order: genjax is NHWC and its squeeze puts the 2x2 block before the channels
([.., 2, 2, C] -> 4C); the squeeze here does the same (one permute of the NCHW tensor, as
torch's usual [C, 2, 2] order is), so that genjax's parameters copy over unchanged and the
loss can be checked equal (benchmarks/glow_train.py --check). Which order the channels come
in is a fixed permutation: it changes which channels a coupling conditions on, not the work
(same kernel shapes, same multiply-adds, same parameter count). flax's 'SAME' padding of a
3x3 stride-1 conv is torch's padding=1, and flax's kernel [kh, kw, in, out] is torch's
[out, in, kh, kw] transposed.

Init: ActNorm from the first batch; L, U, s, the zero-init convs and the top Gaussian at
zero (so every coupling starts as the identity, as in genjax); the other convs keep
torch's default init (genjax's is lecun-normal: a random init changes no cost). Adam with
the config's rate, linear warmup by LambdaLR (optax's linear_schedule from 0) and
clip_grad_norm_ (optax's clip_by_global_norm). The train loop is the fair one of
torch_vae.py: the 8-bit data already in one tensor, batches drawn from a permutation, the
dequantisation noise drawn inside the step as genjax draws it.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks import torch_peer

LEVELS = 256  # genjax.objectives.glow.LEVELS


def squeeze(x):
  """[B, C, H, W] -> [B, 4C, H/2, W/2], the channel index (2 dy + dx) C + c, as genjax's."""
  b, c, h, w = x.shape
  x = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 3, 5, 1, 2, 4)
  return x.reshape(b, 4 * c, h // 2, w // 2)


def gaussian_log_prob(z, mean, log_std):
  per = -0.5 * ((z - mean) * torch.exp(-log_std)) ** 2 - log_std - 0.5 * math.log(2 * math.pi)
  return per.flatten(1).sum(1)


class ActNorm(nn.Module):

  def __init__(self, channels, eps=1e-6):
    super().__init__()
    self.loc = nn.Parameter(torch.zeros(channels))
    self.log_scale = nn.Parameter(torch.zeros(channels))
    self.eps = eps
    self.initialized = False

  def forward(self, x):
    if not self.initialized:  # data-dependent init (Glow), on the first batch only
      with torch.no_grad():
        self.loc.copy_(-x.mean((0, 2, 3)))
        self.log_scale.copy_(-torch.log(x.std((0, 2, 3), unbiased=False) + self.eps))
      self.initialized = True
    y = (x + self.loc.view(1, -1, 1, 1)) * torch.exp(self.log_scale).view(1, -1, 1, 1)
    return y, x.shape[2] * x.shape[3] * self.log_scale.sum()


class InvConv1x1(nn.Module):

  def __init__(self, channels):
    super().__init__()
    self.lower = nn.Parameter(torch.zeros(channels, channels))
    self.upper = nn.Parameter(torch.zeros(channels, channels))
    self.log_s = nn.Parameter(torch.zeros(channels))
    eye = torch.eye(channels)
    # Constants, not state: P is the channel reversal, fixed.
    self.register_buffer('eye', eye, persistent=False)
    self.register_buffer('perm', eye.flip(0), persistent=False)

  def forward(self, x):
    l_unit = torch.tril(self.lower, -1) + self.eye
    u_full = torch.triu(self.upper, 1) + torch.diag(torch.exp(self.log_s))
    w = self.perm @ l_unit @ u_full
    c = w.shape[0]
    return F.conv2d(x, w.view(c, c, 1, 1)), x.shape[2] * x.shape[3] * self.log_s.sum()


def zero_conv(cin, cout):
  conv = nn.Conv2d(cin, cout, 3, padding=1)
  nn.init.zeros_(conv.weight)
  nn.init.zeros_(conv.bias)
  return conv


class AffineCoupling(nn.Module):

  def __init__(self, channels, hidden, scale='tanh'):
    super().__init__()
    self.half = channels // 2
    self.net = nn.Sequential(
        nn.Conv2d(self.half, hidden, 3, padding=1), nn.ReLU(),
        nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
        zero_conv(hidden, 2 * (channels - self.half)))
    if scale not in ('tanh', 'sigmoid'):
      raise ValueError(f'unknown coupling scale {scale!r}')
    self.scale = scale

  def forward(self, x):
    xa, xb = x[:, :self.half], x[:, self.half:]
    out = self.net(xa)
    shift, raw = out[:, 0::2], out[:, 1::2]
    log_scale = torch.tanh(raw) if self.scale == 'tanh' else F.logsigmoid(raw + 2.0)
    y = torch.cat([xa, (xb + shift) * torch.exp(log_scale)], 1)
    return y, log_scale.flatten(1).sum(1)


class GlowStep(nn.Module):

  def __init__(self, channels, hidden, scale):
    super().__init__()
    self.layers = nn.ModuleList([ActNorm(channels), InvConv1x1(channels),
                                 AffineCoupling(channels, hidden, scale)])

  def forward(self, x):
    total = 0.0
    for layer in self.layers:
      x, logdet = layer(x)
      total = total + logdet
    return x, total


class Glow(nn.Module):

  def __init__(self, image_shape=(1, 28, 28), levels=2, steps=4, hidden=64, scale='tanh'):
    super().__init__()
    c, h, w = image_shape
    level_steps, priors = [], []
    for i in range(levels):
      c, h, w = 4 * c, h // 2, w // 2
      level_steps.append(nn.ModuleList(GlowStep(c, hidden, scale) for _ in range(steps)))
      if i < levels - 1:
        priors.append(zero_conv(c // 2, c))  # kept half -> (mean, log_std) of the other
        c //= 2
    self.level_steps, self.split_priors = nn.ModuleList(level_steps), nn.ModuleList(priors)
    self.top_mean = nn.Parameter(torch.zeros(c, h, w))
    self.top_log_std = nn.Parameter(torch.zeros(c, h, w))

  def forward(self, x):
    """Exact log p(x) per example [B] for x [B, C, H, W]."""
    log_p = 0.0
    for i, steps in enumerate(self.level_steps):
      x = squeeze(x)
      for step in steps:
        x, logdet = step(x)
        log_p = log_p + logdet
      if i < len(self.split_priors):
        c = x.shape[1] // 2
        kept, out = x[:, :c], x[:, c:]
        h = self.split_priors[i](kept)
        log_p = log_p + gaussian_log_prob(out, h[:, 0::2], h[:, 1::2])
        x = kept
    return log_p + gaussian_log_prob(x, self.top_mean[None], self.top_log_std[None])


def bits_per_dim(log_p_y, num_dims):
  return (-log_p_y + num_dims * math.log(LEVELS)) / (num_dims * math.log(2.0))


def glow_input(k):
  """8-bit values k (float) -> y - 1/2 for y = (k + u) / 256, u ~ U[0, 1) drawn here."""
  return (k + torch.rand_like(k)) / LEVELS - 0.5


class TorchTrain(torch_peer.PreloadedTrain):
  """Glow's train step (Adam, warmup, gradient clipping), the data as 8-bit values k
  (0..255) in float32."""

  name = 'Glow'

  def __init__(self, images01: np.ndarray, *, batch_size=64, lr=1e-3, warmup_steps=0,
               grad_clip_norm=0.0, levels=2, steps=4, hidden=64, scale='tanh', threads=0,
               seed=0):
    super().__init__(images01, batch_size, threads, seed)
    self.data = torch.round(self.data * 255)
    self.model = Glow(tuple(self.data.shape[1:]), levels, steps, hidden, scale)
    self.params = list(self.model.parameters())
    self.opt = torch.optim.Adam(self.params, lr=lr)
    # optax.linear_schedule(0, lr, warmup): the first update at rate 0, as genjax's.
    self.sched = torch.optim.lr_scheduler.LambdaLR(
        self.opt, lambda t: min(t, warmup_steps) / warmup_steps if warmup_steps else 1.0)
    self.clip = grad_clip_norm
    self.num_dims = math.prod(self.data.shape[1:])
    with torch.no_grad():  # ActNorm's data-dependent init, as genjax's init_params
      self.model(glow_input(self._next()))

  def step(self) -> float:
    x = glow_input(self._next())
    self.opt.zero_grad(set_to_none=True)
    loss = bits_per_dim(self.model(x), self.num_dims).mean()
    loss.backward()
    if self.clip > 0:
      torch.nn.utils.clip_grad_norm_(self.params, self.clip)
    self.opt.step()
    self.sched.step()
    return loss.item()
