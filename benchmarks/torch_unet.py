"""PyTorch reference side of the diffusion throughput benchmark: genjax's U-Net, in torch.

`TorchUNet` is `genjax.models.unet.UNet` layer for layer (NCHW instead of NHWC): the same
sinusoidal time embedding and MLP, residual blocks (GroupNorm with gcd(groups, channels)
groups and eps 1e-6, swish, 3x3 conv, time embedding added, dropout, zero-initialised
second conv, 1x1 shortcut when channels change), single-head self-attention at
`attn_resolutions` and in the middle, strided-conv downsampling with flax's SAME padding,
nearest upsampling to the skip's size, optional class embedding with a "no label" class.
Every layer knows the name flax gives its twin (`flax_layers`), so `load_flax_params` can
copy a genjax model's weights in and the two forward passes can be compared.

`DiffusionTrainer` is the training step written as a PyTorch user would: the
eps-prediction simple loss (Ho et al., eq. 14), backward, `clip_grad_norm_`, Adam and an
EMA of the weights (`AveragedModel` with `get_ema_multi_avg_fn`). `ddpm_sample` and
`ddim_sample` are plain Python loops over the timesteps under `torch.inference_mode`.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0):
  half = dim // 2
  freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
  args = t.float()[:, None] * freqs[None]
  return torch.cat([torch.sin(args), torch.cos(args)], dim=-1)


def group_norm(channels: int, groups: int) -> nn.GroupNorm:
  # flax's GroupNorm epsilon, not torch's 1e-5, so the two forward passes agree.
  return nn.GroupNorm(math.gcd(groups, channels), channels, eps=1e-6)


def zero_init(module: nn.Module) -> nn.Module:
  nn.init.zeros_(module.weight)
  nn.init.zeros_(module.bias)
  return module


class ResBlock(nn.Module):

  def __init__(self, in_ch: int, out_ch: int, emb_dim: int, groups: int, dropout: float):
    super().__init__()
    self.norm1 = group_norm(in_ch, groups)
    self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
    self.emb = nn.Linear(emb_dim, out_ch)
    self.norm2 = group_norm(out_ch, groups)
    self.dropout = nn.Dropout(dropout)
    self.conv2 = zero_init(nn.Conv2d(out_ch, out_ch, 3, padding=1))
    self.shortcut = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

  def flax_layers(self):
    layers = {'GroupNorm_0': self.norm1, 'Conv_0': self.conv1, 'Dense_0': self.emb,
              'GroupNorm_1': self.norm2, 'Conv_1': self.conv2}
    if isinstance(self.shortcut, nn.Conv2d):
      layers['Conv_2'] = self.shortcut
    return layers

  def forward(self, x, emb):
    h = self.conv1(F.silu(self.norm1(x)))
    h = h + self.emb(F.silu(emb))[:, :, None, None]
    h = self.conv2(self.dropout(F.silu(self.norm2(h))))
    return self.shortcut(x) + h


class AttnBlock(nn.Module):
  """Single-head self-attention over the H*W positions, residual."""

  def __init__(self, channels: int, groups: int):
    super().__init__()
    self.norm = group_norm(channels, groups)
    self.q, self.k, self.v = (nn.Linear(channels, channels) for _ in range(3))
    self.out = zero_init(nn.Linear(channels, channels))

  def flax_layers(self):
    return {'GroupNorm_0': self.norm, 'Dense_0': self.q, 'Dense_1': self.k,
            'Dense_2': self.v, 'Dense_3': self.out}

  def forward(self, x):
    b, c, h, w = x.shape
    y = self.norm(x).flatten(2).transpose(1, 2)  # [B, HW, C]
    # One head of width C: the default scale 1/sqrt(C) is genjax's.
    a = F.scaled_dot_product_attention(self.q(y), self.k(y), self.v(y))
    return x + self.out(a).transpose(1, 2).reshape(b, c, h, w)


class Downsample(nn.Module):
  """3x3 stride-2 conv padded as flax's 'SAME' pads (more at the bottom/right)."""

  def __init__(self, channels: int):
    super().__init__()
    self.conv = nn.Conv2d(channels, channels, 3, stride=2)

  def flax_layers(self):
    return {'': self.conv}

  def forward(self, x):
    pads = []
    for size in (x.shape[3], x.shape[2]):  # F.pad takes the last axis first
      total = max((-(-size // 2) - 1) * 2 + 3 - size, 0)
      pads += [total // 2, total - total // 2]
    return self.conv(F.pad(x, pads))


class Upsample(nn.Module):
  """Nearest upsampling to the skip connection's size, then a 3x3 conv."""

  def __init__(self, channels: int):
    super().__init__()
    self.conv = nn.Conv2d(channels, channels, 3, padding=1)

  def flax_layers(self):
    return {'': self.conv}

  def forward(self, x, size):
    return self.conv(F.interpolate(x, size=size, mode='nearest-exact'))


class TorchUNet(nn.Module):
  """net(x [B,C,H,W], t [B] int, y [B] int or None) -> [B,C,H,W]; genjax's UNet."""

  def __init__(self, *, image_channels: int = 1, image_size: int = 28, channels: int = 64,
               channel_mults: Sequence[int] = (1, 2, 2), num_res_blocks: int = 2,
               attn_resolutions: Sequence[int] = (7,), dropout: float = 0.1,
               norm_groups: int = 32, num_classes: int = 0):
    super().__init__()
    ch, g, emb = channels, norm_groups, 4 * channels
    self.channels, self.num_classes = ch, num_classes
    self.time_in, self.time_out = nn.Linear(ch, emb), nn.Linear(emb, emb)
    self.class_emb = nn.Embedding(num_classes + 1, emb) if num_classes else None
    self.conv_in = nn.Conv2d(image_channels, ch, 3, padding=1)

    # Built in call order with the running channel count and resolution, as flax infers
    # them, so that parameters line up with genjax's for `load_flax_params`.
    def attend(res, c):
      return AttnBlock(c, g) if res in attn_resolutions else nn.Identity()

    res, h_ch, skips = image_size, ch, [(ch, image_size)]  # skips: (channels, resolution)
    self.down = nn.ModuleList()
    for level, mult in enumerate(channel_mults):
      for _ in range(num_res_blocks):
        self.down.append(ResBlock(h_ch, ch * mult, emb, g, dropout))
        h_ch = ch * mult
        self.down.append(attend(res, h_ch))
        skips.append((h_ch, res))
      if level < len(channel_mults) - 1:
        self.down.append(Downsample(h_ch))
        res = -(-res // 2)
        skips.append((h_ch, res))
    self.mid = nn.ModuleList([ResBlock(h_ch, h_ch, emb, g, dropout), AttnBlock(h_ch, g),
                              ResBlock(h_ch, h_ch, emb, g, dropout)])
    self.up = nn.ModuleList()
    for level, mult in reversed(list(enumerate(channel_mults))):
      for _ in range(num_res_blocks + 1):
        self.up.append(ResBlock(h_ch + skips.pop()[0], ch * mult, emb, g, dropout))
        h_ch = ch * mult
        self.up.append(attend(res, h_ch))
      if level > 0:
        self.up.append(Upsample(h_ch))
        res = skips[-1][1]
    self.norm_out = group_norm(h_ch, g)
    self.conv_out = zero_init(nn.Conv2d(h_ch, image_channels, 3, padding=1))

  def flax_layers(self):
    """{flax parameter path: torch layer}. Flax numbers submodules per type in the order
    it constructs them: the outer time Dense before the inner one, then everything else
    in call order, which is the order of self.down, self.mid and self.up."""
    layers = {'Dense_0': self.time_out, 'Dense_1': self.time_in, 'Conv_0': self.conv_in}
    if self.class_emb is not None:
      layers['Embed_0'] = self.class_emb
    counts = {'Conv': 1}
    kinds = {ResBlock: 'ResBlock', AttnBlock: 'AttnBlock', Downsample: 'Conv',
             Upsample: 'Conv'}
    for block in [*self.down, *self.mid, *self.up]:
      kind = kinds.get(type(block))
      if kind is None:  # nn.Identity: no attention at this resolution
        continue
      name = f'{kind}_{counts.get(kind, 0)}'
      counts[kind] = counts.get(kind, 0) + 1
      for sub, layer in block.flax_layers().items():
        layers[f'{name}/{sub}' if sub else name] = layer
    layers['GroupNorm_0'] = self.norm_out
    layers[f"Conv_{counts['Conv']}"] = self.conv_out
    return layers

  def forward(self, x, t, y=None):
    emb = self.time_out(F.silu(self.time_in(timestep_embedding(t, self.channels))))
    if self.class_emb is not None:
      if y is None:
        y = torch.full((x.shape[0],), self.num_classes, dtype=torch.long)
      emb = emb + self.class_emb(y)
    h = self.conv_in(x)
    skips = [h]
    for layer in self.down:
      h = layer(h, emb) if isinstance(layer, ResBlock) else layer(h)
      if not isinstance(layer, ResBlock):
        skips.append(h)  # after a block's (maybe identity) attention, or a downsample
    h = self.mid[2](self.mid[1](self.mid[0](h, emb)), emb)
    for layer in self.up:
      if isinstance(layer, ResBlock):
        h = layer(torch.cat([h, skips.pop()], dim=1), emb)
      elif isinstance(layer, Upsample):
        h = layer(h, skips[-1].shape[2:])
      else:
        h = layer(h)
    return self.conv_out(F.silu(self.norm_out(h)))


def count_params(model: nn.Module) -> int:
  return sum(p.numel() for p in model.parameters())


def load_flax_params(model: TorchUNet, flax_params) -> None:
  """Copies genjax UNet params ({'params': ...} or the inner dict) into `model`, layer by
  layer by flax name, converting layouts (HWIO -> OIHW, [in, out] -> [out, in])."""
  tree = flax_params.get('params', flax_params)
  layers = model.flax_layers()
  copied = 0
  with torch.no_grad():
    for path, layer in layers.items():
      src = tree
      for key in path.split('/'):
        src = src[key]
      src = {k: np.asarray(v) for k, v in src.items()}
      if isinstance(layer, nn.Conv2d):
        pairs = [(layer.weight, src['kernel'].transpose(3, 2, 0, 1)), (layer.bias, src['bias'])]
      elif isinstance(layer, nn.Linear):
        pairs = [(layer.weight, src['kernel'].T), (layer.bias, src['bias'])]
      elif isinstance(layer, nn.GroupNorm):
        pairs = [(layer.weight, src['scale']), (layer.bias, src['bias'])]
      else:
        pairs = [(layer.weight, src['embedding'])]
      for p, a in pairs:
        if tuple(a.shape) != tuple(p.shape):
          raise ValueError(f'{path}: genjax {a.shape} vs torch {tuple(p.shape)}')
        p.copy_(torch.tensor(a))
        copied += a.size
  if copied != count_params(model):
    raise ValueError(f'copied {copied} of the torch model\'s {count_params(model)} parameters')


class Schedule:
  """The per-timestep constants the loss and samplers use, as float64 numpy [T] arrays
  taken from genjax's schedule (so both sides use the very same numbers)."""

  def __init__(self, alphas_cumprod, alphas_cumprod_prev, posterior_mean_coef_x0,
               posterior_mean_coef_xt, model_log_variance):
    f = lambda a: np.asarray(a, np.float64)
    self.abar, self.abar_prev = f(alphas_cumprod), f(alphas_cumprod_prev)
    self.coef_x0, self.coef_xt = f(posterior_mean_coef_x0), f(posterior_mean_coef_xt)
    self.sigma = np.exp(0.5 * f(model_log_variance))
    self.num_timesteps = len(self.abar)
    self.sqrt_abar = torch.tensor(np.sqrt(self.abar), dtype=torch.float32)
    self.sqrt_one_minus_abar = torch.tensor(np.sqrt(1 - self.abar), dtype=torch.float32)


class DiffusionTrainer:
  """Model, Adam (+ global-norm clipping) and EMA, with one training step per call."""

  def __init__(self, model: TorchUNet, schedule: Schedule, *, learning_rate: float,
               grad_clip_norm: float, ema_decay: float, label_dropout: float = 0.1):
    self.model, self.schedule = model, schedule
    self.opt = torch.optim.Adam(model.parameters(), lr=learning_rate)
    self.grad_clip_norm, self.label_dropout = grad_clip_norm, label_dropout
    self.ema = (AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(ema_decay))
                if ema_decay > 0 else None)

  def loss(self, x0, y=None):
    s = self.schedule
    t = torch.randint(0, s.num_timesteps, (x0.shape[0],))
    eps = torch.randn_like(x0)
    xt = s.sqrt_abar[t].view(-1, 1, 1, 1) * x0 + s.sqrt_one_minus_abar[t].view(-1, 1, 1, 1) * eps
    if y is not None:
      drop = torch.rand(y.shape) < self.label_dropout
      y = torch.where(drop, torch.full_like(y, self.model.num_classes), y)
    return F.mse_loss(self.model(xt, t, y), eps)

  def step(self, x0, y=None) -> torch.Tensor:
    self.model.train()  # sampling with the raw model (no EMA) switches it to eval
    self.opt.zero_grad(set_to_none=True)
    loss = self.loss(x0, y)
    loss.backward()
    if self.grad_clip_norm > 0:
      nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip_norm)
    self.opt.step()
    if self.ema is not None:
      self.ema.update_parameters(self.model)
    return loss.detach()


def _x0_from_eps(s: Schedule, x, i: int, eps):
  x0 = (x - math.sqrt(1 - s.abar[i]) * eps) / math.sqrt(s.abar[i])
  return x0.clamp(-1.0, 1.0)


@torch.inference_mode()
def ddpm_sample(model: nn.Module, s: Schedule, x_T: torch.Tensor) -> torch.Tensor:
  """Ancestral sampling over all T steps (Ho et al., Algorithm 2), x0 clipped."""
  model.eval()
  x, b = x_T, x_T.shape[0]
  for i in reversed(range(s.num_timesteps)):
    x0 = _x0_from_eps(s, x, i, model(x, torch.full((b,), i, dtype=torch.long)))
    mean = s.coef_x0[i] * x0 + s.coef_xt[i] * x
    x = mean + s.sigma[i] * torch.randn_like(x) if i > 0 else mean
  return x


@torch.inference_mode()
def ddim_sample(model: nn.Module, s: Schedule, x_T: torch.Tensor, timesteps: Sequence[int],
                eta: float = 0.0) -> torch.Tensor:
  """DDIM (Song et al., eq. 12) down the increasing subsequence `timesteps`."""
  model.eval()
  x, b = x_T, x_T.shape[0]
  timesteps = [int(i) for i in timesteps]
  for i, i_prev in zip(reversed(timesteps), reversed([-1] + timesteps[:-1])):
    eps = model(x, torch.full((b,), i, dtype=torch.long))
    x0 = _x0_from_eps(s, x, i, eps)
    eps = (x - math.sqrt(s.abar[i]) * x0) / math.sqrt(1 - s.abar[i])
    abar, abar_prev = s.abar[i], (s.abar[i_prev] if i_prev >= 0 else 1.0)
    sigma = eta * math.sqrt((1 - abar_prev) / (1 - abar) * (1 - abar / abar_prev))
    x = (math.sqrt(abar_prev) * x0 + math.sqrt(max(1 - abar_prev - sigma**2, 0.0)) * eps
         + (sigma * torch.randn_like(x) if sigma else 0.0))
  return x

