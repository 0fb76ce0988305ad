"""PyTorch reference side of the autoregressive training benchmark.

PixelCNN and Gated PixelCNN written as a PyTorch user would (NCHW, nn.Conv2d, masked
kernels as weight * mask), layer for layer the networks of genjax/models/pixelcnn.py and
genjax/models/gated_pixelcnn.py: same widths, same causal masks, same 1x1 layers, same
Bernoulli head, Adam with global-norm clipping. A masked conv's zeroed kernel entries are
parameters that never change; `effective_parameter_count` leaves them out, and that is the
number that equals genjax's (which stores only the unmasked taps).

The train loop is the fair one of torch_vae.py: the data already in one tensor, batch
indices drawn before timing.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks import torch_peer


def causal_mask(kernel_size: int, mask_type: str) -> torch.Tensor:
  """[k, k] 0/1: rows above the centre, and left of (A) or up to (B) the centre."""
  c = kernel_size // 2
  mask = torch.zeros(kernel_size, kernel_size)
  mask[:c, :] = 1.0
  mask[c, :c + (mask_type == 'B')] = 1.0
  return mask


class MaskedConv2d(nn.Conv2d):
  """The usual PixelCNN masked conv: a zero-padded k x k conv with weight * mask.

  With `cropped`, the kernel keeps only rows up to the centre (rows below are all masked)
  and the input is padded above only: the same function with fewer multiplies.
  """

  def __init__(self, cin, cout, kernel_size, mask_type, cropped=False):
    k = kernel_size
    rows = k // 2 + 1 if cropped else k
    super().__init__(cin, cout, (rows, k), padding=0 if cropped else k // 2)
    self.cropped = cropped
    self.register_buffer('mask', causal_mask(k, mask_type)[:rows].clone())

  def forward(self, x):
    if self.cropped:
      k = self.kernel_size[1]
      x = F.pad(x, (k // 2, k // 2, k // 2, 0))
    return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCNN(nn.Module):
  """genjax PixelCNN: masked 7x7 A -> blocks (1x1 h, masked 3x3 B, 1x1 2h) -> 1x1 -> 1x1."""

  def __init__(self, channels=64, num_blocks=7, first_kernel=7, kernel=3, output_hidden=64,
               cropped=False):
    super().__init__()
    h = channels
    self.first = MaskedConv2d(1, 2 * h, first_kernel, 'A', cropped)
    self.blocks = nn.ModuleList(nn.ModuleList([
        nn.Conv2d(2 * h, h, 1),
        MaskedConv2d(h, h, kernel, 'B', cropped),
        nn.Conv2d(h, 2 * h, 1)]) for _ in range(num_blocks))
    self.out_hidden = nn.Conv2d(2 * h, output_hidden, 1)
    self.out_logits = nn.Conv2d(output_hidden, 1, 1)

  def forward(self, x):
    h = self.first(2 * x - 1)
    for conv_in, conv_mid, conv_out in self.blocks:
      h = h + conv_out(F.relu(conv_mid(F.relu(conv_in(F.relu(h))))))
    return self.out_logits(F.relu(self.out_hidden(F.relu(h))))


def _shift_down(x):
  return F.pad(x, (0, 0, 1, 0))[:, :, :-1]


def _shift_right(x):
  return F.pad(x, (1, 0, 0, 0))[:, :, :, :-1]


def _gate(x):
  f, g = x.chunk(2, dim=1)
  return torch.tanh(f) * torch.sigmoid(g)


class GatedLayer(nn.Module):
  """Vertical stack: (k//2+1) x k conv over rows r-k//2..r; horizontal: 1 x (k//2+1) conv
  over columns c-k//2..c; both zero-padded on the causal side only (no mask needed)."""

  def __init__(self, channels, kernel, first=False):
    super().__init__()
    c, r = channels, kernel // 2
    self.r, self.first = r, first
    self.vertical = nn.Conv2d(c if not first else 1, 2 * c, (r + 1, kernel))
    self.horizontal = nn.Conv2d(c if not first else 1, 2 * c, (1, r + 1))
    self.v_to_h = nn.Conv2d(2 * c, 2 * c, 1)
    self.h_out = nn.Conv2d(c, c, 1)

  def forward(self, v, h):
    r = self.r
    v_pre = self.vertical(F.pad(v, (r, r, r, 0)))
    h_in = _shift_right(h) if self.first else h
    h_pre = self.horizontal(F.pad(h_in, (r, 0, 0, 0))) + self.v_to_h(_shift_down(v_pre))
    h_out = self.h_out(_gate(h_pre))
    return _gate(v_pre), (h_out if self.first else h + h_out)


class GatedPixelCNN(nn.Module):

  def __init__(self, channels=32, num_layers=10, first_kernel=7, kernel=3, output_hidden=64):
    super().__init__()
    self.layers = nn.ModuleList(
        [GatedLayer(channels, first_kernel, first=True)]
        + [GatedLayer(channels, kernel) for _ in range(num_layers)])
    self.out_hidden = nn.Conv2d(channels, output_hidden, 1)
    self.out_logits = nn.Conv2d(output_hidden, 1, 1)

  def forward(self, x):
    v = h = 2 * x - 1
    for layer in self.layers:
      v, h = layer(v, h)
    return self.out_logits(F.relu(self.out_hidden(F.relu(h))))


def make_model(name: str, cropped: bool = False) -> nn.Module:
  """The CPU-config sizes: 'pixelcnn' (h=64, 7 blocks) or 'gated_pixelcnn' (32 ch, 10)."""
  if name == 'pixelcnn':
    return PixelCNN(channels=64, num_blocks=7, cropped=cropped)
  if name == 'gated_pixelcnn':
    return GatedPixelCNN(channels=32, num_layers=10)
  raise ValueError(f'unknown model {name!r}')


def effective_parameter_count(model: nn.Module) -> int:
  """Trainable entries that a masked conv does not zero: what genjax stores."""
  total = 0
  for module in model.modules():
    for name, p in module.named_parameters(recurse=False):
      if name == 'weight' and isinstance(module, MaskedConv2d):
        total += int(module.mask.sum()) * module.in_channels * module.out_channels
      else:
        total += p.numel()
  return total


def nll_loss(model, x):
  """Mean over images of the Bernoulli NLL summed over pixels (nats per image)."""
  return F.binary_cross_entropy_with_logits(model(x), x, reduction='sum') / x.shape[0]


class TorchTrain(torch_peer.PreloadedTrain):
  """One model's train step (Adam, clip 1.0). `channels_last` runs the convs on NHWC
  memory, which oneDNN often prefers on CPU."""

  name = 'PixelCNN'

  def __init__(self, name, images: np.ndarray, *, batch_size=64, lr=3e-4, clip=1.0,
               cropped=False, channels_last=False, threads=0, seed=0):
    super().__init__(images, batch_size, threads, seed)
    if channels_last:
      self.memory_format = torch.channels_last
    self.model = make_model(name, cropped).to(memory_format=self.memory_format)
    self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)
    self.clip = clip

  def step(self):
    x = self._next()
    self.opt.zero_grad(set_to_none=True)
    loss = nll_loss(self.model, x)
    loss.backward()
    nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
    self.opt.step()
    return loss.item()
