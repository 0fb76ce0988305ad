"""Rematerialisation of a network's blocks: the `model.remat` config choice.

Backpropagation keeps every activation of the forward pass until the backward pass reads
it. Wrapping each residual or Transformer block in `nn.remat` (`jax.checkpoint`) keeps only
the blocks' inputs and recomputes what is inside a block during the backward pass: less
memory for about one more forward pass of compute. The gradients are the same.

- 'none': keep everything (the default).
- 'block': keep each block's input only.
- 'dots_saveable': keep, inside each block, the outputs of its matrix products without
  batch dimensions (the dense layers; `jax.checkpoint_policies.
  dots_with_no_batch_dims_saveable`) and recompute the rest (normalisations,
  nonlinearities, attention's batched products, convolutions): most of the memory saved,
  little of the compute repeated.

Parameters keep their names: a block wrapped or not has the same parameter tree, so a run
may resume under another choice.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax

REMAT = ('none', 'block', 'dots_saveable')

_POLICIES = {'block': None,
             'dots_saveable': jax.checkpoint_policies.dots_with_no_batch_dims_saveable}


def remat_block(block: type[nn.Module], remat: str,
                static_argnums: Sequence[int] = ()) -> type[nn.Module]:
  """`block` (a Module class) as `remat` asks: itself for 'none', else wrapped in nn.remat.

  static_argnums: the positions of `__call__`'s Python arguments (a `train` flag), `self`
  being 0. A wrapped class has another name, so a compact parent names its instances
  itself (`name=`) to keep the parameter tree.
  """
  if remat == 'none':
    return block
  if remat not in _POLICIES:
    raise ValueError(f'remat must be one of {REMAT}, got {remat!r}.')
  return nn.remat(block, static_argnums=tuple(static_argnums), policy=_POLICIES[remat])
