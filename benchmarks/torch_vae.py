"""PyTorch reference side of the VAE throughput benchmark.

The model is the pytorch/examples MNIST VAE (vae/main.py), so genjax is timed
against the implementation people know. There are two training loops: the
preloaded one is the fair compute-to-compute comparison (data already in one
tensor, as genjax has it), the DataLoader one is what the canonical example
really costs, per-example Dataset and collation included.
"""

import itertools
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from benchmarks import torch_peer


class TorchVAE(nn.Module):
    """The pytorch/examples VAE (784-400-20-400-784), decoder emitting logits:
    logits + `binary_cross_entropy_with_logits` is the numerically stable form
    of the example's sigmoid followed by BCE; the maths is the same."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h = F.relu(self.fc1(x))
        return self.fc21(h), self.fc22(h)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        return mu + torch.randn_like(std) * std

    def decode(self, z):
        return self.fc4(F.relu(self.fc3(z)))

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar

    def loss(self, x):
        """Negative ELBO averaged over the batch (the example sums instead),
        so the number is per example and comparable across batch sizes."""
        logits, mu, logvar = self(x)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return (rec + kl) / x.shape[0]


class _RowDataset(Dataset):
    """One example per `__getitem__`, as torchvision's MNIST serves them."""

    def __init__(self, data: torch.Tensor):
        self.data = data

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        return self.data[i]


def _setup(images, seed):
    """Same threads, seed, model and optimiser for both training loops."""
    torch_peer.start(0, seed)
    model = TorchVAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = torch.as_tensor(np.asarray(images, dtype=np.float32)).reshape(-1, 784)
    return model, opt, data


def _step(model, opt, x):
    opt.zero_grad(set_to_none=True)
    model.loss(x).backward()
    opt.step()


def train_examples_per_sec_preloaded(images: np.ndarray, *, batch_size=128,
                                     steps=200, warmup=20, seed=0) -> float:
    """Training throughput with no input pipeline in the timed region: batch
    indices are drawn before timing, so a step is one gather plus the work."""
    model, opt, data = _setup(images, seed)
    total = (warmup + steps) * batch_size
    n_perms = -(-total // len(data))
    idx = torch.cat([torch.randperm(len(data)) for _ in range(n_perms)])
    idx = idx[:total].view(warmup + steps, batch_size)
    for i in range(warmup):
        _step(model, opt, data[idx[i]])
    t0 = time.perf_counter()
    for i in range(warmup, warmup + steps):
        _step(model, opt, data[idx[i]])
    return steps * batch_size / (time.perf_counter() - t0)


def train_examples_per_sec_dataloader(images: np.ndarray, *, batch_size=128,
                                      steps=200, warmup=20, seed=0) -> float:
    """Training throughput through a shuffled DataLoader, as the example runs.
    Examples are counted as they arrive because an epoch's last batch is
    short; the loader restarts (reshuffling) when an epoch ends."""
    model, opt, data = _setup(images, seed)
    loader = DataLoader(_RowDataset(data), batch_size=batch_size,
                        shuffle=True, num_workers=0)
    it = (x for _ in itertools.count() for x in loader)  # endless, reshuffled
    for _ in range(warmup):
        _step(model, opt, next(it))
    seen = 0
    t0 = time.perf_counter()
    for _ in range(steps):
        x = next(it)
        _step(model, opt, x)
        seen += x.shape[0]
    return seen / (time.perf_counter() - t0)


def eval_examples_per_sec(images: np.ndarray, *, batch_size=1000,
                          repeats=5) -> float:
    """Negative-ELBO evaluation throughput over the whole preloaded set; one
    untimed pass first so allocator and thread-pool start-up are not charged."""
    model, _, data = _setup(images, 0)
    model.eval()
    starts = range(0, len(data), batch_size)
    with torch.inference_mode():
        for s in starts:
            model.loss(data[s:s + batch_size])
        t0 = time.perf_counter()
        for _ in range(repeats):
            for s in starts:
                model.loss(data[s:s + batch_size])
        return repeats * len(data) / (time.perf_counter() - t0)
