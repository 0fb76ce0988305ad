"""PyTorch reference side of the VQ-VAE stage-1 training benchmark.

The encoder, decoder and quantiser of genjax/models/vqvae.py and genjax/models/quantizer.py
written as a PyTorch user would (NCHW, nn.Conv2d, nn.ConvTranspose2d), at the widths of
configs/vqvae.py:cpu: stride-2 4x4 convs to a 7x7 grid, a 3x3 conv, residual blocks (ReLU,
3x3, ReLU, 1x1), a 1x1 to D; the decoder mirrored with transposed stride-2 4x4 convs and a
3x3 to two maps per pixel (mean, log-scale). flax's 'SAME' padding of a stride-2 4x4 conv is
one pixel on each side, torch's padding=1. flax's `nn.ConvTranspose(4x4, strides 2,
'SAME')` doubles the size, as torch's `ConvTranspose2d(4, stride=2, padding=1)` does; the
two place the kernel taps differently (flax does not flip the kernel), which changes what a
random init computes but not the work: same kernel shapes, same multiply-adds per output,
same parameter count.

The step: nearest code by squared distance over K codes, straight-through gradient,
commitment loss beta ||z_e - sg[e]||^2, the discretized logistic NLL of
genjax/objectives/pixel_likelihoods.py summed over pixels, Adam; after the backward pass
the EMA codebook update (Laplace-smoothed counts) and the dead-code restart, and the
perplexity of the batch's codes, as genjax's objective computes them. The codebook and its
EMA statistics are buffers, not parameters, as genjax keeps them in the model state. The
train loop is the fair one of torch_vae.py: the data already in one tensor, batches drawn
from a permutation.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks import torch_peer

LAPLACE_EPS = 1e-5  # genjax.models.quantizer.LAPLACE_EPS
MIN_LOG_SCALE = -7.0  # genjax.objectives.pixel_likelihoods.MIN_LOG_SCALE


class ResidualBlock(nn.Module):

  def __init__(self, channels, hidden):
    super().__init__()
    self.conv3 = nn.Conv2d(channels, hidden, 3, padding=1)
    self.conv1 = nn.Conv2d(hidden, channels, 1)

  def forward(self, x):
    return x + self.conv1(F.relu(self.conv3(F.relu(x))))


class Encoder(nn.Module):

  def __init__(self, in_channels, channels, res_hidden, num_res_blocks, downsamples,
               code_dim):
    super().__init__()
    down, cin = [], in_channels
    for i in range(downsamples):
      width = channels // 2 if i + 1 < downsamples else channels
      down.append(nn.Conv2d(cin, width, 4, stride=2, padding=1))
      cin = width
    self.down = nn.ModuleList(down)
    self.conv = nn.Conv2d(cin, channels, 3, padding=1)
    self.res = nn.ModuleList(ResidualBlock(channels, res_hidden)
                             for _ in range(num_res_blocks))
    self.out = nn.Conv2d(channels, code_dim, 1)

  def forward(self, x):
    for conv in self.down:
      x = F.relu(conv(x))
    x = self.conv(x)
    for block in self.res:
      x = block(x)
    return self.out(F.relu(x))


class Decoder(nn.Module):

  def __init__(self, code_dim, channels, res_hidden, num_res_blocks, downsamples,
               out_channels):
    super().__init__()
    self.conv = nn.Conv2d(code_dim, channels, 3, padding=1)
    self.res = nn.ModuleList(ResidualBlock(channels, res_hidden)
                             for _ in range(num_res_blocks))
    up, cin = [], channels
    for _ in range(downsamples):
      up.append(nn.ConvTranspose2d(cin, channels // 2, 4, stride=2, padding=1))
      cin = channels // 2
    self.up = nn.ModuleList(up)
    self.out = nn.Conv2d(cin, out_channels, 3, padding=1)

  def forward(self, z):
    x = self.conv(z)
    for block in self.res:
      x = block(x)
    x = F.relu(x)
    for conv in self.up:
      x = F.relu(conv(x))
    return self.out(x)


class VQVAE(nn.Module):
  """Encoder, decoder, and the EMA codebook as buffers [K, D], [K], [K, D]."""

  def __init__(self, *, in_channels=1, channels=32, res_hidden=16, num_res_blocks=2,
               downsamples=2, code_dim=64, num_codes=512):
    super().__init__()
    self.encoder = Encoder(in_channels, channels, res_hidden, num_res_blocks, downsamples,
                           code_dim)
    self.decoder = Decoder(code_dim, channels, res_hidden, num_res_blocks, downsamples,
                           2 * in_channels)
    self.register_buffer('codebook', torch.zeros(num_codes, code_dim))
    self.register_buffer('counts', torch.ones(num_codes))
    self.register_buffer('sums', torch.zeros(num_codes, code_dim))

  @torch.no_grad()
  def init_codebook(self, x01: torch.Tensor) -> None:
    """Codes at K distinct encoder outputs of a batch, each counted once (genjax's
    `ema_init`; genjax runs k-means on them first, which costs nothing per step)."""
    flat = _flat(self.encoder(2 * x01 - 1))
    pick = torch.randperm(flat.shape[0])[:self.codebook.shape[0]]
    self.codebook.copy_(flat[pick])
    self.counts.fill_(1.0)
    self.sums.copy_(self.codebook)


def _flat(z: torch.Tensor) -> torch.Tensor:
  """[B, D, h, w] -> [B h w, D], rows in genjax's order."""
  return z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])


def discretized_logistic_log_likelihood(x, mean, log_scale):
  """genjax.objectives.pixel_likelihoods.discretized_logistic_log_likelihood, elementwise,
  with its floor on the log-scale."""
  inv = torch.exp(-torch.clamp(log_scale, min=MIN_LOG_SCALE))
  a = (x - mean + 1.0 / 255) * inv
  b = (x - mean - 1.0 / 255) * inv
  log_cdf_a = -F.softplus(-a)
  log_sf_b = -F.softplus(b)
  log_mid = (torch.log(-torch.expm1(torch.clamp(b - a, max=-1e-12))) - F.softplus(-a)
             - F.softplus(b))
  return torch.where(x < -0.999, log_cdf_a, torch.where(x > 0.999, log_sf_b, log_mid))


def perplexity(counts: torch.Tensor) -> torch.Tensor:
  p = counts / counts.sum().clamp(min=1e-12)
  return torch.exp(-torch.sum(torch.where(p > 0, p * torch.log(p.clamp(min=1e-30)), 0.0)))


def loss_and_codes(model: VQVAE, x01: torch.Tensor, beta: float):
  """(mean loss, flat encoder outputs [N, D], codes [N]): genjax's `loss_and_state` up to
  the codebook update, which the caller does after the backward pass."""
  x = 2 * x01 - 1
  z = model.encoder(x)
  flat = _flat(z)
  with torch.no_grad():
    d2 = ((flat * flat).sum(1, keepdim=True) - 2.0 * flat @ model.codebook.T
          + (model.codebook * model.codebook).sum(1)[None]).clamp(min=0.0)
    codes = d2.argmin(1)
  z_q = model.codebook[codes]
  z_st = flat + (z_q - flat).detach()  # straight through
  b, d, h, w = z.shape
  mean_scale = model.decoder(z_st.view(b, h, w, d).permute(0, 3, 1, 2))
  c = x.shape[1]
  recon = -discretized_logistic_log_likelihood(x, mean_scale[:, :c], mean_scale[:, c:])
  recon = recon.reshape(b, -1).sum(1)
  commitment = beta * (flat - z_q).square().reshape(b, -1).sum(1)
  return (recon + commitment).mean(), flat.detach(), codes


@torch.no_grad()
def ema_update(model: VQVAE, flat, codes, decay: float, threshold: float):
  """genjax's `ema_update` then `restart_dead_codes`; returns (perplexity, codes moved)."""
  k = model.codebook.shape[0]
  one_hot = F.one_hot(codes, k).to(flat.dtype)
  batch_counts = one_hot.sum(0)
  model.counts.mul_(decay).add_(batch_counts, alpha=1.0 - decay)
  model.sums.mul_(decay).add_(one_hot.T @ flat, alpha=1.0 - decay)
  n = model.counts.sum()
  smoothed = (model.counts + LAPLACE_EPS) / (n + k * LAPLACE_EPS) * n
  model.codebook.copy_(model.sums / smoothed[:, None])
  moved = torch.zeros(())
  if threshold > 0:
    pick = (torch.randperm(flat.shape[0])[:k] if flat.shape[0] >= k
            else torch.randint(flat.shape[0], (k,)))
    fresh = flat[pick]
    dead = model.counts < threshold
    model.counts.copy_(torch.where(dead, torch.full_like(model.counts, threshold),
                                   model.counts))
    model.codebook.copy_(torch.where(dead[:, None], fresh, model.codebook))
    model.sums.copy_(torch.where(dead[:, None], fresh * model.counts[:, None], model.sums))
    moved = dead.sum()
  return perplexity(batch_counts), moved


class TorchTrain(torch_peer.PreloadedTrain):
  """The VQ-VAE stage-1 train step (EMA codebook, Adam), data in [0, 1] (k/255)."""

  name = 'VQ-VAE'

  def __init__(self, images01: np.ndarray, *, batch_size=64, lr=3e-4, channels=32,
               res_hidden=16, num_res_blocks=2, downsamples=2, code_dim=64, num_codes=512,
               beta=0.25, ema_decay=0.99, dead_code_threshold=1.0, threads=0, seed=0):
    super().__init__(images01, batch_size, threads, seed)
    self.model = VQVAE(in_channels=self.data.shape[1], channels=channels,
                       res_hidden=res_hidden, num_res_blocks=num_res_blocks,
                       downsamples=downsamples, code_dim=code_dim, num_codes=num_codes)
    self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)
    self.beta, self.decay, self.threshold = beta, ema_decay, dead_code_threshold
    self.model.init_codebook(self._next())

  def step(self) -> float:
    x = self._next()
    self.opt.zero_grad(set_to_none=True)
    loss, flat, codes = loss_and_codes(self.model, x, self.beta)
    loss.backward()
    self.opt.step()
    self.perplexity, self.restarted = ema_update(self.model, flat, codes, self.decay,
                                                 self.threshold)
    return loss.item()
