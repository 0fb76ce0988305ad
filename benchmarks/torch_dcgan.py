"""PyTorch reference side of the DCGAN training benchmark.

pytorch/examples' `dcgan/main.py`, adapted to 28x28 images and to the architecture of
genjax/models/dcgan.py at the widths of configs/gan.py:cpu (z of 100, c = 64), written as a
PyTorch user would (NCHW, nn.ConvTranspose2d, nn.Conv2d):

* Generator: z [B, nz, 1, 1] -> ConvTranspose2d(nz, 2c, 7, 1, 0, bias=False) (genjax's
  bias-free Dense to 7x7x2c: the same map and the same parameters) -> BatchNorm2d -> ReLU
  -> ConvTranspose2d(2c, c, 4, 2, 1, bias=False) -> BatchNorm2d -> ReLU ->
  ConvTranspose2d(c, 1, 4, 2, 1) -> Tanh.
* Discriminator: Conv2d(1, c, 4, 2, 1) -> LeakyReLU(0.2) -> Conv2d(c, 2c, 4, 2, 1,
  bias=False) -> BatchNorm2d -> LeakyReLU(0.2) -> flatten -> Linear(7*7*2c, 1) (genjax's
  Dense on the flattened map, so that the parameter counts match exactly) -> a logit.

flax's `nn.ConvTranspose(4x4, strides 2, 'SAME')` (which genjax computes as four 2x2 phase
convolutions) and torch's `ConvTranspose2d(4, stride=2, padding=1)` both double the size
with the same kernel shapes: the same multiply-adds and parameters, the taps placed
differently (which matters to a random init, not to the cost). BatchNorm's running
statistics are buffers, not parameters, as genjax keeps them in the model state.

Init as DCGAN's `weights_init`: conv, transposed-conv and linear weights N(0, 0.02),
BatchNorm weights N(1, 0.02), biases zero. Loss: BCEWithLogitsLoss on logits (genjax's
softplus of logits; no sigmoid then BCELoss).

The step, as pytorch/examples takes it: fake = netG(noise) once; D: netD(real) against ones
and netD(fake.detach()) against zeros, two forward passes in train mode, each backward,
optimizerD.step(); G: netD(fake) against the updated D, errG = BCE(output, ones) (the
non-saturating loss), backward through G, optimizerG.step(). Both Adam(2e-4, betas (0.5,
0.999)). Then the EMA of G's parameters (decay 0.999), which genjax's step keeps too. The
train loop is the fair one of torch_vae.py: the data already in one tensor in [-1, 1],
batches drawn from a permutation.
"""

import numpy as np
import torch
from torch import nn

from benchmarks import torch_peer


class Generator(nn.Module):

  def __init__(self, latent_dim=100, channels=64, out_channels=1, base=7):
    super().__init__()
    c = channels
    self.main = nn.Sequential(
        nn.ConvTranspose2d(latent_dim, 2 * c, base, 1, 0, bias=False),
        nn.BatchNorm2d(2 * c),
        nn.ReLU(True),
        nn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=False),
        nn.BatchNorm2d(c),
        nn.ReLU(True),
        nn.ConvTranspose2d(c, out_channels, 4, 2, 1, bias=True),
        nn.Tanh(),
    )

  def forward(self, z):
    return self.main(z)


class Discriminator(nn.Module):

  def __init__(self, channels=64, in_channels=1, base=7):
    super().__init__()
    c = channels
    self.main = nn.Sequential(
        nn.Conv2d(in_channels, c, 4, 2, 1, bias=True),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False),
        nn.BatchNorm2d(2 * c),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Flatten(),
        nn.Linear(base * base * 2 * c, 1),
    )

  def forward(self, x):
    return self.main(x).view(-1)


def weights_init(m: nn.Module) -> None:
  """DCGAN's init: N(0, 0.02) weights, N(1, 0.02) BatchNorm scales, zero biases."""
  if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
    nn.init.normal_(m.weight, 0.0, 0.02)
    if m.bias is not None:
      nn.init.zeros_(m.bias)
  elif isinstance(m, nn.BatchNorm2d):
    nn.init.normal_(m.weight, 1.0, 0.02)
    nn.init.zeros_(m.bias)


class TorchTrain(torch_peer.PreloadedTrain):
  """The DCGAN train step (one D step, one G step, G's EMA), data in [-1, 1]."""

  name = 'DCGAN'

  def __init__(self, images01: np.ndarray, *, batch_size=64, lr=2e-4, beta1=0.5,
               latent_dim=100, channels=64, ema_decay=0.999, threads=0, seed=0):
    super().__init__(images01, batch_size, threads, seed)
    self.data = self.data * 2 - 1
    _, c_in, h, w = self.data.shape
    if h != w or h % 4:
      raise ValueError(f'the DCGAN here takes square images with sides divisible by 4, not '
                       f'{h}x{w}')
    self.netG = Generator(latent_dim, channels, c_in, h // 4)
    self.netD = Discriminator(channels, c_in, h // 4)
    self.netG.apply(weights_init)
    self.netD.apply(weights_init)
    self.criterion = nn.BCEWithLogitsLoss()
    self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=lr, betas=(beta1, 0.999))
    self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=lr, betas=(beta1, 0.999))
    self.decay = ema_decay
    self.g_params = list(self.netG.parameters())
    self.ema = [p.detach().clone() for p in self.g_params] if ema_decay > 0 else None
    self.latent_dim = latent_dim
    self.ones = torch.ones(batch_size)
    self.zeros = torch.zeros(batch_size)

  def step(self) -> float:
    real = self._next()
    noise = torch.randn(self.batch, self.latent_dim, 1, 1)
    fake = self.netG(noise)

    # (1) D: maximise log D(x) + log(1 - D(G(z))).
    self.netD.zero_grad(set_to_none=True)
    err_d_real = self.criterion(self.netD(real), self.ones)
    err_d_real.backward()
    err_d_fake = self.criterion(self.netD(fake.detach()), self.zeros)
    err_d_fake.backward()
    self.optimizerD.step()

    # (2) G: maximise log D(G(z)) against the updated D (the non-saturating loss).
    self.netG.zero_grad(set_to_none=True)
    err_g = self.criterion(self.netD(fake), self.ones)
    err_g.backward()
    self.optimizerG.step()

    if self.ema is not None:
      with torch.no_grad():
        torch._foreach_mul_(self.ema, self.decay)
        torch._foreach_add_(self.ema, self.g_params, alpha=1.0 - self.decay)
    self.last_d_loss, self.last_g_loss = (err_d_real + err_d_fake).item(), err_g.item()
    return self.last_d_loss + self.last_g_loss  # finite iff both are
