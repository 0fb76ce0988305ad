"""Host-sharded batches of in-memory arrays, as a pure function of (seed, step).

Because batch `s` depends only on the seed and `s`, the data position saved in a
checkpoint is just the next step, and a resumed run continues the same stream. Each
host materialises only its own rows of every global batch, and the row boundaries do
not change what the global batch is, so one host and two hosts see the same data.
"""

from __future__ import annotations

from typing import Iterator, Mapping

import numpy as np

from genjax.data.data_errors import DataError


def local_slice(global_size: int, process_index: int, process_count: int) -> slice:
  """This host's rows of a global batch of `global_size` rows."""
  if global_size % process_count:
    raise DataError(f'Batch size {global_size} does not divide over {process_count} hosts; '
                     f'set --config.batch_size to a multiple of {process_count}.')
  per_host = global_size // process_count
  return slice(process_index * per_host, (process_index + 1) * per_host)


def common_length(arrays: Mapping[str, np.ndarray]) -> int:
  """The leading length every array shares; a ValueError names them when they differ."""
  if not arrays:
    raise ValueError('No arrays given; pass a mapping of at least one name to an array.')
  lengths = {key: len(a) for key, a in arrays.items()}
  if len(set(lengths.values())) > 1:
    raise DataError(f'Arrays differ in leading length: {lengths}; every array needs one '
                     'row per example, so trim or pad them to the same length.')
  return next(iter(lengths.values()))


class StepStream:
  """What the training loop reads: `batch(step)` and `stacked(first_step, num_steps)`.

  A subclass sets `num_examples` and `global_batch_size` and defines `batch`.
  """

  num_examples: int
  global_batch_size: int

  def batch(self, step: int) -> dict[str, np.ndarray]:
    raise NotImplementedError

  def stacked(self, first_step: int, num_steps: int) -> dict[str, np.ndarray]:
    """Batches for steps first_step .. first_step+num_steps-1, stacked on a leading axis."""
    batches = [self.batch(s) for s in range(first_step, first_step + num_steps)]
    return {k: np.stack([b[k] for b in batches]) for k in batches[0]}


class StepOrder:
  """Which rows of N examples each host reads at each step: a pure function of (seed, step).

  Epoch `e` visits the rows in the order `np.random.default_rng([seed, e]).permutation(N)`
  and the last `N % global_batch_size` rows of that order are dropped, so every batch
  is full and lies within one epoch.

  Args:
    num_examples: N.
    global_batch_size: rows per step over all hosts, at most N.
    seed: chooses the epoch permutations.
    process_index: this host's index in 0..process_count-1.
    process_count: the number of hosts; it must divide `global_batch_size`.
    name: what the rows are, for error messages.
  """

  def __init__(self, num_examples: int, *, global_batch_size: int, seed: int,
               process_index: int = 0, process_count: int = 1, name: str = 'train'):
    if not 0 < global_batch_size <= num_examples:
      fits = min(128, num_examples)  # the base config's batch size, where it fits
      raise DataError(f'batch_size={global_batch_size} does not fit the {num_examples} '
                      f'examples of {name}; set --config.batch_size={fits} (or any number '
                      f'from 1 to {num_examples}).')
    self.num_examples = num_examples
    self.global_batch_size = global_batch_size
    self.steps_per_epoch = num_examples // global_batch_size
    self.host_rows = local_slice(global_batch_size, process_index, process_count)
    self._seed = seed
    self._cached = (None, None)  # (epoch, its order), replaced whole: prefetch threads read it

  def _permutation(self, epoch: int) -> np.ndarray:
    cached_epoch, order = self._cached
    if epoch != cached_epoch:  # consecutive steps share an epoch: draw each order once
      order = np.random.default_rng([self._seed, epoch]).permutation(self.num_examples)
      self._cached = (epoch, order)
    return order

  def rows(self, step: int) -> np.ndarray:
    """Indices of this host's rows of global batch `step`."""
    epoch, i = divmod(step, self.steps_per_epoch)
    b = self.global_batch_size
    return self._permutation(epoch)[i * b:(i + 1) * b][self.host_rows]


class ArrayStream(StepStream):
  """Shuffled rows of named arrays in the order of `StepOrder`; `batch(step)` is this
  host's share of batch `step`.

  Args:
    arrays: name -> array, all with the same leading length N.
    global_batch_size, seed, process_index, process_count, name: as `StepOrder`'s.
  """

  def __init__(self, arrays: Mapping[str, np.ndarray], *, global_batch_size: int, seed: int,
               process_index: int = 0, process_count: int = 1, name: str = 'train'):
    self._order = StepOrder(common_length(arrays), global_batch_size=global_batch_size,
                            seed=seed, process_index=process_index,
                            process_count=process_count, name=name)
    self.num_examples = self._order.num_examples
    self.global_batch_size = global_batch_size
    self.steps_per_epoch = self._order.steps_per_epoch
    self.host_rows = self._order.host_rows
    self._arrays = dict(arrays)

  def rows(self, step: int) -> np.ndarray:
    """Indices into the arrays of this host's rows of global batch `step`."""
    return self._order.rows(step)

  def batch(self, step: int) -> dict[str, np.ndarray]:
    rows = self.rows(step)
    return {key: a[rows] for key, a in self._arrays.items()}


def padded_eval_batches(arrays: Mapping[str, np.ndarray], *, global_batch_size: int,
                        process_index: int = 0, process_count: int = 1,
                        max_examples: int = 0) -> Iterator[dict[str, np.ndarray]]:
  """This host's share of every evaluation batch, in order, the last one zero-padded.

  Args:
    arrays: name -> array, all with the same leading length N; no name may be 'mask'.
    global_batch_size: rows per batch over all hosts.
    process_index: this host's index in 0..process_count-1.
    process_count: the number of hosts; it must divide `global_batch_size`.
    max_examples: when positive, only the first `max_examples` rows are evaluated.

  Yields:
    The arrays' rows for this host plus a float32 `mask`, 1 for real rows and 0 for
    padding, so sums weighted by the mask over all batches count every row once.
  """
  if 'mask' in arrays:
    raise ValueError("An evaluation array is named 'mask', which the padding mask needs; "
                     'rename it.')
  n = common_length(arrays)
  read = lambda start, stop: {key: a[start:stop] for key, a in arrays.items()}
  return PaddedBatches(read, min(n, max_examples) if max_examples else n, global_batch_size,
                       local_slice(global_batch_size, process_index, process_count))


class PaddedBatches:
  """Batches of rows 0..n-1 in order, the last zero-padded, each with a 0/1 `mask`; this
  host's rows of each. `read(start, stop)` gives the named arrays of those rows (none when
  stop == start). It has a
  length, so a long evaluation shows how far it has got (genjax.training.run); the checks
  are made at the call, not at the first batch."""

  def __init__(self, read, n: int, global_batch_size: int, rows: slice):
    self._read, self._n, self._size, self._rows = read, n, global_batch_size, rows

  def __len__(self) -> int:
    return -(-self._n // self._size)

  def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
    first, last = self._rows.start, self._rows.stop
    per_host = last - first
    for start in range(0, self._n, self._size):
      # This host reads only its rows of the batch; those past the end are padding.
      lo, hi = min(start + first, self._n), min(start + last, self._n)
      real = hi - lo
      batch = {key: np.concatenate([a, np.zeros((per_host - real,) + a.shape[1:], a.dtype)])
               for key, a in self._read(lo, hi).items()}
      batch['mask'] = np.concatenate([np.ones(real, np.float32),
                                      np.zeros(per_host - real, np.float32)])
      yield batch
