"""What a model family hands to the one training loop.

A family contributes a model (inside `init_params` and the functions below), a pure
objective and a sampler. The loop owns everything else: data, sharding, compilation,
checkpoints, metrics, progress, evaluation and figure intervals.

How every family in genjax's scope plugs in:
- VAE, conditional VAE, VQ-VAE (straight-through codes, codebook and commitment terms
  in `aux`), PixelCNN / Transformer / RNN (exact NLL), normalizing flows (change of
  variables): a `loss_fn(params, batch, rng) -> (loss, aux)`; the default
  `gradient_update` differentiates it. Their exact or bounded test NLL is `eval_fn`.
- DDPM: the same, with `config.ema_decay > 0`, so the state carries EMA params and
  `eval_fn` / `artifacts_fn` receive them.
- GAN: `update_fn` instead of `loss_fn`; params = {'generator': ..., 'discriminator': ...}
  and `make_optimizer` returns one optax transform per network (optax.multi_transform
  over the two subtrees), so the alternating updates are one pure step of the same loop.
- GMM by EM: `update_fn` computes the E and M steps in closed form and writes the new
  params; `make_optimizer` returns None (no optimiser state, no gradient).
- PCA: `update_fn` sets params to the top singular vectors of the batch (or of
  accumulated second moments) and the run has total_steps=1 or a few.
- word2vec: the same `loss_fn` interface with (center, context, negatives) int batches;
  the family brings its own `train_stream` in place of the image one.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import jax
import numpy as np
import optax

Params = Any
Batch = Mapping[str, jax.Array]
LossFn = Callable[[Params, Batch, jax.Array], tuple[jax.Array, dict[str, jax.Array]]]
# (state, batch, rng) -> (state, metrics): a whole update, for families whose step is not
# "differentiate one loss" (GAN, EM, PCA).
UpdateFn = Callable[[Any, Batch, jax.Array], tuple[Any, dict[str, jax.Array]]]


@dataclasses.dataclass(frozen=True)
class Family:
  """The pieces of one model family, built from a config by the family's `build`.

  Attributes:
    name: the family's name; with `signature` it marks checkpoints.
    signature: what identifies the model (its config), so that a checkpoint from another
      model is refused with a clear error rather than a shape mismatch.
    init_params: (rng, example_batch) -> params.
    loss_fn: the pure objective, minimised by the default gradient update.
    eval_fn: (params, batch, rng) -> {metric: per-example values [B]}; the loop averages
      them over the split, skipping padded examples.
    artifacts_fn: (params, rng) -> {name: array}, saved for figures; may be None. Its
      numeric scalars (a sample-based score, say) are also metrics: the loop writes them
      to metrics.jsonl under split 'artifacts' and into final_metrics.json.
    render_figures: (artifacts_npz_path, out_dir) -> [png paths]; plain NumPy/matplotlib,
      it never imports the training loop.
    update_fn: replaces the default gradient update when set.
    make_optimizer: replaces `genjax.training.optimizers.make_optimizer` when set; may
      return None for gradient-free families.
    final_eval_fn: like eval_fn, run once at the end (e.g. IWAE with large k); may be None.
  """
  name: str
  signature: Mapping[str, Any]
  init_params: Callable[[jax.Array, Batch], Params]
  eval_fn: Callable[[Params, Batch, jax.Array], dict[str, jax.Array]]
  loss_fn: LossFn | None = None
  update_fn: UpdateFn | None = None
  make_optimizer: Callable[[], optax.GradientTransformation | None] | None = None
  artifacts_fn: Callable[[Params, jax.Array], dict[str, jax.Array]] | None = None
  render_figures: Callable[[str, str], list[str]] | None = None
  final_eval_fn: Callable[[Params, Batch, jax.Array], dict[str, jax.Array]] | None = None
  eval_examples: int = 0  # 0: the whole test set
  train_eval_examples: int = 0  # > 0: also evaluate on this many training examples


def to_numpy(tree) -> dict[str, np.ndarray]:
  return jax.tree.map(np.asarray, jax.device_get(tree))
