"""Which devices hold which part of the train state: rules that map each leaf's path to a
PartitionSpec over the mesh's `fsdp` axis.

The rules are big_vision's kind (`sharding_strategy`: a list of (regex, spec), the first
whose regex matches a leaf's path wins) rather than flax's logical axis names: they apply
to every family's params as they are, with no model annotated, and to the optimiser
state and the EMA by the same paths, since `.*kernel` matches a kernel, its Adam moments
and its EMA copy alike. A rule is written 'REGEX=SPEC' with SPEC one of

  fsdp        the leaf's largest axis that the fsdp size divides is split over it (what
              big_vision's `fsdp` does); a leaf with no such axis, or smaller than
              `min_size` elements, is replicated
  replicate   every device holds the whole leaf
  A,B,...     one entry per axis of the leaf, each `fsdp` or `None`

and the default, ('.*=fsdp',), shards every large leaf. With an fsdp size of 1 every
leaf is replicated, which is data parallelism.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from genjax.config import ConfigError
from genjax.training.mesh import FSDP_AXIS

MIN_SIZE = 2 ** 14  # elements: smaller leaves cost more to gather than they save


def parse(rules: Sequence[str]) -> list[tuple[str, re.Pattern, str]]:
  """[(the rule as written, its regex, its spec)]; ConfigError for a malformed one."""
  parsed = []
  for rule in rules:
    pattern, equals, spec = str(rule).rpartition('=')
    spec = spec.strip()
    axes = [a.strip() for a in spec.split(',')]
    if not (equals and pattern and (spec in ('fsdp', 'replicate')
                                    or all(a in (FSDP_AXIS, 'None') for a in axes))):
      raise ConfigError(f"mesh.rules: {rule!r} is not 'REGEX=SPEC' with SPEC fsdp, replicate "
                        "or one of fsdp/None per axis, e.g. --config.mesh.rules="
                        "\"('.*kernel=fsdp', '.*=replicate')\".")
    try:
      parsed.append((rule, re.compile(pattern), spec))
    except re.error as e:
      raise ConfigError(f'mesh.rules: {rule!r} has a malformed regex ({e}).') from None
  return parsed


def _path(key_path) -> str:
  return '/'.join(str(getattr(k, 'key', getattr(k, 'name', getattr(k, 'idx', k))))
                  for k in key_path)


def _largest_divisible_axis(shape, fsdp: int, min_size: int) -> P:
  if int(np.prod(shape, dtype=np.int64)) < min_size:
    return P()
  for axis in sorted(range(len(shape)), key=lambda a: -shape[a]):
    if shape[axis] % fsdp == 0:
      return P(*([None] * axis), FSDP_AXIS)
  return P()


def _explicit(rule: str, path: str, shape, spec: str, fsdp: int) -> P:
  axes = [None if a.strip() == 'None' else FSDP_AXIS for a in spec.split(',')]
  if len(axes) != len(shape):
    raise ConfigError(f'mesh.rules: {rule!r} gives {len(axes)} axes to {path}, which has '
                      f'shape {tuple(shape)}; give one entry per axis.')
  for axis, name in enumerate(axes):
    if name and shape[axis] % fsdp:
      raise ConfigError(
          f'mesh.rules: {rule!r} splits axis {axis} of {path} (shape {tuple(shape)}) over '
          f'mesh.fsdp={fsdp}, which does not divide {shape[axis]}; choose another axis, a '
          'smaller --config.mesh.fsdp, or `fsdp` (its largest axis that divides).')
  return P(*axes)


def leaf_specs(tree, rules: Sequence[str], fsdp: int, *, min_size: int | None = None,
               match_prefix: str = 'params'):
  """A PartitionSpec for every leaf of `tree` (arrays or ShapeDtypeStructs). Every rule must
  match at least one leaf whose path starts with `match_prefix` (a parameter), or it is
  refused as a typo."""
  parsed = parse(rules)
  min_size = MIN_SIZE if min_size is None else min_size
  used = set()

  def spec_of(key_path, leaf):
    path, shape = _path(key_path), tuple(getattr(leaf, 'shape', ()))
    for rule, regex, spec in parsed:
      if regex.fullmatch(path) or regex.fullmatch(path.split('/', 1)[-1]):
        if path.startswith(match_prefix):
          used.add(rule)
        if fsdp == 1 or spec == 'replicate' or not shape:
          return P()
        if spec == FSDP_AXIS:
          return _largest_divisible_axis(shape, fsdp, min_size)
        return _explicit(rule, path, shape, spec, fsdp)
    return P()

  specs = jax.tree_util.tree_map_with_path(spec_of, tree)
  unused = [rule for rule, _, _ in parsed if rule not in used]
  if unused:
    example = next((_path(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]
                    if _path(p).startswith(match_prefix)), '')
    raise ConfigError(f'mesh.rules: {unused[0]!r} matches no parameter (paths look like '
                      f'{example!r}); fix its regex or drop the rule.')
  return specs


def state_shardings(abstract_state, mesh: Mesh, rules: Sequence[str]) -> Any:
  """NamedShardings of the whole train state over `mesh` by `rules`."""
  fsdp = mesh.shape[FSDP_AXIS]
  specs = leaf_specs(abstract_state, rules, fsdp)
  return jax.tree.map(lambda spec: NamedSharding(mesh, spec), specs,
                      is_leaf=lambda x: isinstance(x, P))


def check_fsdp(fsdp: int, devices: int) -> None:
  if fsdp < 1 or devices % fsdp:
    divisors = [d for d in range(1, devices + 1) if devices % d == 0]
    raise ConfigError(f'mesh.fsdp={fsdp} does not divide the {devices} devices; set '
                      f'--config.mesh.fsdp to one of {divisors}.')
