"""What the PyTorch peers' train steps share: threads and seed, the images preloaded as one
NCHW tensor, batches drawn from a permutation (the fair loop of torch_vae.py), and `run_n`
for harness.Timer."""

import math
import os

import numpy as np
import torch


def start(threads: int = 0, seed: int = 0) -> None:
  """threads = 0: one per CPU. Fewer helps on a busy machine, where OpenMP threads that
  wait for a descheduled sibling stall every op."""
  torch.set_num_threads(threads or os.cpu_count())
  torch.manual_seed(seed)


def nchw(images: np.ndarray) -> torch.Tensor:
  return torch.as_tensor(np.asarray(images, np.float32)).permute(0, 3, 1, 2).contiguous()


class PreloadedTrain:
  """A subclass may rescale `self.data` (the images, NCHW) and defines `step()`, which
  returns the loss as a float."""

  name = 'torch'
  memory_format = torch.contiguous_format

  def __init__(self, images: np.ndarray, batch_size: int, threads: int = 0, seed: int = 0):
    start(threads, seed)
    self.data, self.batch = nchw(images), batch_size
    # The first permutation is drawn by the first batch, after the model's init.
    self.order, self.cursor = torch.empty(0, dtype=torch.long), 0

  def parameter_count(self) -> int:
    return sum(p.numel() for p in self.model.parameters())

  def _next(self):
    if self.cursor + self.batch > len(self.order):
      self.order, self.cursor = torch.randperm(len(self.data)), 0
    idx = self.order[self.cursor:self.cursor + self.batch]
    self.cursor += self.batch
    return self.data[idx].contiguous(memory_format=self.memory_format)

  def run_n(self, n: int) -> None:
    for _ in range(n):
      self.last_loss = self.step()
    if not math.isfinite(self.last_loss):
      raise FloatingPointError(f'non-finite loss in the torch {self.name} step')
