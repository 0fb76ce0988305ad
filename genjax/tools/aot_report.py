"""What a compiled train step needs of each device, read from the compiled program: its
memory (`memory_analysis()`), its FLOPs (`cost_analysis()`), its collectives (counted in
`as_text()`), and whether it fits the chip (`genjax.tools.aot_levers` says what would
help when it does not).
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Sequence

import jax

GIB = 2**30
COLLECTIVES = ('all-reduce', 'all-gather', 'reduce-scatter', 'all-to-all',
               'collective-permute')
# An HLO instruction `%name = SHAPE op(...)`: a synchronous collective, or the `-done` half
# of an asynchronous one, whose result is what crossed the interconnect (the `-start` half
# holds the operand as well, so it is not counted again).
_INSTRUCTION = re.compile(r'=\s*(?P<shape>.+?)\s+(?P<op>' + '|'.join(COLLECTIVES) +
                          r')(?:-done)?\(')
_ARRAY = re.compile(r'\b(?P<dtype>pred|[subf]\d+|bf16|f8e\w+|c64|c128)\[(?P<dims>[\d,]*)\]')
# The TPU compiler's refusals of a program too large for HBM, in their wordings: 'the total
# memory required for HLO temporaries (20.89G) exceeds available HBM (15.75G)' (arguments
# included), 'Aborting compilation early ... Requires 20.89G, has 15.75G available' and
# 'Used 20.89G of 15.75G hbm'.
_OUT_OF_MEMORY = re.compile(r'\((?P<a>[\d.]+)(?P<a_unit>[KMGT])\) exceeds available HBM'
                            r'|Requires (?P<b>[\d.]+)(?P<b_unit>[KMGT])B?, has '
                            r'|Used (?P<c>[\d.]+)(?P<c_unit>[KMGT])B? of ')
# What the same refusals say the compiler could give the program: less than the chip's HBM,
# so a program it refuses may need less than that.
_AVAILABLE = re.compile(r'exceeds available HBM \((?P<a>[\d.]+)(?P<a_unit>[KMGT])\)'
                        r'|, has (?P<b>[\d.]+)(?P<b_unit>[KMGT])B? available'
                        r'|Used [\d.]+[KMGT]B? of (?P<c>[\d.]+)(?P<c_unit>[KMGT])B? hbm')


def size(n: float) -> str:
  """'12.34 GiB', '5.6 MiB' or '789 KiB': bytes in the unit that reads best."""
  if n >= 0.1 * GIB:
    return f'{n / GIB:.2f} GiB'
  if n >= 0.1 * 2**20:
    return f'{n / 2**20:.1f} MiB'
  return f'{n / 2**10:.0f} KiB'


def duration(seconds: float) -> str:
  """'1.23 s', '4.56 ms' or '7.8 us'."""
  if seconds >= 1:
    return f'{seconds:.2f} s'
  if seconds >= 1e-3:
    return f'{seconds * 1e3:.2f} ms'
  return f'{seconds * 1e6:.1f} us'


@dataclasses.dataclass(frozen=True)
class Memory:
  """Bytes per device of one call of the step, as XLA laid it out."""
  arguments: float  # train state, batches, frozen upstream params
  outputs: float  # the new state and the metrics
  aliased: float  # outputs written over their donated arguments (the state)
  temporaries: float  # activations, gradients, optimiser intermediates
  code: float  # the compiled program itself

  @property
  def total(self) -> float:
    return self.arguments + self.outputs - self.aliased + self.temporaries + self.code


def memory_of(compiled) -> Memory | None:
  stats = compiled.memory_analysis()
  if stats is None:
    return None
  return Memory(arguments=stats.argument_size_in_bytes, outputs=stats.output_size_in_bytes,
                aliased=stats.alias_size_in_bytes, temporaries=stats.temp_size_in_bytes,
                code=stats.generated_code_size_in_bytes)


def bytes_on_one_device(tree) -> float:
  """Bytes of the shard that one device holds of each ShapeDtypeStruct in `tree`."""
  total = 0.0
  for leaf in jax.tree.leaves(tree):
    shape = leaf.sharding.shard_shape(leaf.shape) if leaf.sharding is not None else leaf.shape
    total += math.prod(shape) * leaf.dtype.itemsize
  return total


def used_bytes_from_error(message: str) -> float | None:
  """What the TPU compiler says a program that does not fit would use; None when its
  message says no such thing."""
  return _bytes(_OUT_OF_MEMORY.search(message))


def available_bytes_from_error(message: str) -> float | None:
  """What the TPU compiler says it could give the program it refused; None when its
  message says no such thing."""
  return _bytes(_AVAILABLE.search(message))


def _bytes(match: re.Match | None) -> float | None:
  if not match:
    return None
  value, unit = next((match.group(k), match.group(f'{k}_unit')) for k in 'abc'
                     if match.group(k))
  return float(value) * {'K': 2**10, 'M': 2**20, 'G': 2**30, 'T': 2**40}[unit]


def collectives_of(hlo_text: str) -> dict[str, tuple[int, float]]:
  """{op: (instructions, bytes of their results)} of the compiled program's collectives."""
  found = {}
  for line in hlo_text.splitlines():
    match = _INSTRUCTION.search(line)
    if not match:
      continue
    size = sum(math.prod(int(d) for d in a.group('dims').split(',') if d) *
               _dtype_bytes(a.group('dtype')) for a in _ARRAY.finditer(match.group('shape')))
    count, total = found.get(match.group('op'), (0, 0.0))
    found[match.group('op')] = (count + 1, total + size)
  return found


def _dtype_bytes(dtype: str) -> float:
  if dtype == 'pred':
    return 1
  if dtype.startswith('f8'):
    return 1
  return int(re.sub(r'\D', '', dtype)) / 8


def fit_line(used: float, hbm: float | None, where: str, memory: Memory | None = None,
             options: Sequence[object] = (), refused: bool = False
             ) -> tuple[bool | None, str]:
  """(fits, one line): how much of `hbm` the step uses, or by how much it is over and
  which of `options` (settings, as flags) to try. `refused`: the compiler refused the
  program for its size, so it does not fit whatever the numbers say."""
  if hbm is None:
    return None, (f'fits: unknown, no memory size is known for {where}; pass '
                  '--hbm_gib=<memory per device>')
  if refused and used <= hbm:
    return False, (f'does not fit: the compiler refused {size(used)} per device, under the '
                   f'{size(hbm)} of {where} but over what it leaves the program'
                   + (f'; try {", ".join(map(str, options))}' if options else ''))
  if used <= hbm:
    return True, (f'fits: {size(used)} of {size(hbm)} per device '
                  f'({used / hbm:.0%}) on {where}')
  parts = ('' if memory is None else
           f' (arguments {size(memory.arguments)}, temporaries {size(memory.temporaries)})')
  advice = (f'; try {", ".join(map(str, options))}' if options else
            '; no setting of this config cuts it further: a slice with more devices or '
            'chips with more memory')
  return False, (f'does not fit: {size(used)} per device{parts} is over the {size(hbm)} of '
                 f'{where} by {size(used - hbm)}{advice}')
