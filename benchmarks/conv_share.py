"""The convolutions' share of a compiled JAX program's FLOPs, read from its optimised HLO.

`conv_flop_share(compiled)` takes `jax.jit(f).lower(*args).compile()` and returns a
`ConvShare`: the FLOPs of every `convolution` instruction in `compiled.as_text()` (at top
level, inside fusions and inside loop bodies; `xla`), and those of every convolution
computed as taps (`taps`, below), each over `compiled.cost_analysis()['flops']`. XLA's cost
analysis counts a loop body once whatever its trip count, and so does this count, so the
ratio is that of one pass through each body: the share of a `lax.scan` of steps is the
share of one step.

A convolution's FLOPs are counted as XLA's HloCostAnalysis counts them: 2 (a multiply and
an add) x output batch x output features x (input features / feature_group_count) x, per
spatial dimension, the number of (output position, kernel tap) pairs that land on an input
element rather than on padding or between base-dilated elements. Without padding or
dilation that is 2 x (output elements) x (the product of the kernel's dims other than its
output-feature dim, as `dim_labels` names them: `b01f_01io->b01f` has kernel dims 0, 1, i,
o). XLA writes the gradients of a convolution as convolutions too, with other `dim_labels`,
windows and padding (the kernel's gradient as a convolution over the batch; a grouped one's
as a 3-D convolution or one with `batch_group_count`), and the same count covers them.

genjax also computes convolutions as taps (genjax/models/conv.py's 'taps' formulation,
which the U-Net's configs and the samplers choose on XLA:CPU, and the PixelCNNs' `TapConv`
in genjax/models/masked_conv.py): a matmul over the stacked shifted inputs, a `dot` in the
HLO. `taps_flops_in` counts those dots (2 x output elements x contracted elements, as the
cost analysis counts a dot), found by the source line XLA keeps in each instruction's
metadata (`stack_frame_id`, whose innermost frame is in one of TAPS_FILES), forward and
backward alike. `conv_flop_share` returns both parts, so that a step whose convolutions are
matmuls is not reported as free of them.

In this jaxlib (0.10) XLA:CPU leaves a convolution a plain `convolution` instruction after
optimisation, at top level or inside a fusion or a loop body; no oneDNN
(`__onednn$convolution`) or other custom-call takes its place under the default flags. A
custom-call whose target names a convolution would hide its FLOPs from this count, so one
raises NotImplementedError rather than yield a share that is too low.
"""

from __future__ import annotations

import dataclasses
import math
import re

TAPS_FILES = ('genjax/models/conv.py', 'genjax/models/masked_conv.py')

# `%name = f32[2,8,8,3]{3,2,1,0} opcode(`: an instruction with an array shape.
_INSTRUCTION = re.compile(r'^\s*(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*(\w+)\[([\d,]*)\]\S*\s+'
                          r'([\w\-]+)\((.*)$')
_CONV_CUSTOM_CALL = re.compile(r'custom_call_target="[^"]*conv', re.IGNORECASE)


def _dims(text: str) -> tuple[int, ...]:
  return tuple(int(d) for d in text.split(',') if d)


def _window(attributes: str) -> list[dict[str, int]]:
  """Per spatial dimension: size, stride, padding low and high, window and base dilation
  (XLA's defaults where the window does not say)."""
  found = re.search(r'window=\{([^}]*)\}', attributes)
  fields = dict(re.findall(r'(\w+)=(\S+)', found.group(1))) if found else {}
  if 'size' not in fields:
    return []
  size = [int(s) for s in fields['size'].split('x')]
  per_dim = lambda key, default: ([int(s) for s in fields[key].split('x')] if key in fields
                                  else [default] * len(size))
  pads = ([tuple(int(p) for p in pair.split('_')) for pair in fields['pad'].split('x')]
          if 'pad' in fields else [(0, 0)] * len(size))
  stride, rhs_dilate, lhs_dilate = per_dim('stride', 1), per_dim('rhs_dilate', 1), per_dim(
      'lhs_dilate', 1)
  return [{'size': size[i], 'stride': stride[i], 'low': pads[i][0], 'high': pads[i][1],
           'window_dilation': rhs_dilate[i], 'base_dilation': lhs_dilate[i]}
          for i in range(len(size))]


def _valid_positions(window: dict[str, int], input_size: int, output_size: int) -> int:
  """(output position, kernel tap) pairs of one spatial dimension that read an input
  element, as HloCostAnalysis::GetConvolutionFlops counts them."""
  count = 0
  for tap in range(window['size']):
    for out in range(output_size):
      undilated = out * window['stride'] - window['low'] + tap * window['window_dilation']
      index, rest = divmod(undilated, window['base_dilation'])
      count += rest == 0 and 0 <= index < input_size
  return count


def convolution_flops(instruction: str, shapes: dict[str, tuple[int, ...]]) -> int:
  """The FLOPs of one HLO `convolution` instruction (its line of `as_text()`), given the
  shapes of the instructions it reads by name."""
  match = _INSTRUCTION.match(instruction)
  if not match or match.group(4) != 'convolution':
    raise ValueError(f'not a convolution instruction: {instruction[:120]!r}')
  out_shape = _dims(match.group(3))
  operands = re.findall(r'%([\w.\-]+)', match.group(5).split(')')[0])
  lhs_shape, rhs_shape = shapes[operands[0]], shapes[operands[1]]
  labels = re.search(r'dim_labels=(\w+)_(\w+)->(\w+)', instruction)
  if not labels:
    raise ValueError(f'a convolution without dim_labels: {instruction[:120]!r}')
  lhs, rhs, out = labels.groups()
  group = lambda key: int(re.search(rf'{key}=(\d+)', instruction).group(1)) if (
      f'{key}=' in instruction) else 1
  spatial = [c for c in lhs if c.isdigit()]
  fma = (lhs_shape[lhs.index('f')] // group('feature_group_count') * out_shape[out.index('f')]
         * lhs_shape[lhs.index('b')] // group('batch_group_count'))
  for i, (window, dim) in enumerate(zip(_window(instruction), spatial)):
    assert window['size'] == rhs_shape[rhs.index(dim)], instruction
    fma *= _valid_positions(window, lhs_shape[lhs.index(dim)], out_shape[out.index(dim)])
  return 2 * fma


def convolution_flops_in(hlo_text: str) -> int:
  """The FLOPs of every `convolution` instruction in an HLO module's text, each once."""
  shapes, convolutions = {}, []
  for line in hlo_text.splitlines():
    if _CONV_CUSTOM_CALL.search(line):
      raise NotImplementedError(
          f'a convolution custom-call, which this count does not read: {line.strip()[:160]}')
    match = _INSTRUCTION.match(line)
    if match:
      shapes[match.group(1)] = _dims(match.group(3))
      if match.group(4) == 'convolution':
        convolutions.append(line)
  return sum(convolution_flops(line, shapes) for line in convolutions)


def _innermost_files(hlo_text: str) -> dict[str, str]:
  """stack_frame_id -> the file of that frame's own line, from the module's StackFrames,
  FileLocations and FileNames tables."""
  tables, section = {'FileNames': {}, 'FileLocations': {}, 'StackFrames': {}}, None
  for line in hlo_text.splitlines():
    if line.strip() in tables or line.strip() in ('FunctionNames',):
      section = line.strip()
      continue
    entry = re.match(r'^(\d+) (.*)$', line)
    if section in tables and entry:
      tables[section][entry.group(1)] = entry.group(2)
    elif not entry:
      section = None
  names = {k: v.strip('"') for k, v in tables['FileNames'].items()}
  location_file = {k: names.get(re.search(r'file_name_id=(\d+)', v).group(1), '')
                   for k, v in tables['FileLocations'].items()}
  return {k: location_file.get(re.search(r'file_location_id=(\d+)', v).group(1), '')
          for k, v in tables['StackFrames'].items()}


def dot_flops(instruction: str, shapes: dict[str, tuple[int, ...]]) -> int:
  """The FLOPs of one HLO `dot` instruction: 2 x output elements x contracted elements."""
  match = _INSTRUCTION.match(instruction)
  if not match or match.group(4) != 'dot':
    raise ValueError(f'not a dot instruction: {instruction[:120]!r}')
  lhs = shapes[re.findall(r'%([\w.\-]+)', match.group(5).split(')')[0])[0]]
  contracting = re.search(r'lhs_contracting_dims=\{([\d,]*)\}', instruction)
  contracted = math.prod(lhs[int(d)] for d in _dims(contracting.group(1))) if contracting else 1
  return 2 * math.prod(_dims(match.group(3))) * contracted


def taps_flops_in(hlo_text: str, files: tuple[str, ...] = TAPS_FILES) -> int:
  """The FLOPs of every `dot` whose own source line is in one of `files`, each once."""
  frame_file = _innermost_files(hlo_text)
  shapes, dots = {}, []
  for line in hlo_text.splitlines():
    match = _INSTRUCTION.match(line)
    if match:
      shapes[match.group(1)] = _dims(match.group(3))
      frame = re.search(r'stack_frame_id=(\d+)', line)
      if (match.group(4) == 'dot' and frame
          and frame_file.get(frame.group(1), '').endswith(files)):
        dots.append(line)
  return sum(dot_flops(line, shapes) for line in dots)


def total_flops(compiled) -> float:
  """`compiled.cost_analysis()['flops']` (a dict, or a list of one dict in older jax)."""
  cost = compiled.cost_analysis()
  if isinstance(cost, (list, tuple)):
    cost = cost[0]
  return float(cost['flops'])


@dataclasses.dataclass(frozen=True)
class ConvShare:
  """Shares of a program's FLOPs: `xla` in `convolution` instructions, `taps` in the
  matmuls of convolutions computed as taps; `total` is their sum."""
  xla: float
  taps: float

  @property
  def total(self) -> float:
    return self.xla + self.taps

  def record(self) -> dict[str, float]:
    """As a benchmark's JSON records it."""
    return {'total': self.total, 'xla': self.xla, 'taps': self.taps}


def conv_flop_share(compiled) -> ConvShare:
  """The convolutions' share of the FLOPs of `compiled` (a `jax.stages.Compiled`), as XLA's
  convolutions and as taps: zero for a program without convolutions, nan for one with
  convolutions whose cost analysis counts no FLOPs."""
  text = compiled.as_text()
  xla, taps = convolution_flops_in(text), taps_flops_in(text)
  total = total_flops(compiled)
  if total <= 0:
    return ConvShare(0.0, 0.0) if xla == taps == 0 else ConvShare(math.nan, math.nan)
  return ConvShare(xla / total, taps / total)
