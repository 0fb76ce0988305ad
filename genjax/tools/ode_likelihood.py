"""Bits/dim of a trained run through its probability-flow ODE, with its standard error.

A diffusion run's bound (`genjax.tools.bound`) is an upper bound on -log p; the ODE that
shares its marginals (`genjax.objectives.probability_flow`) has an exact density, which
`genjax.objectives.ode_likelihood` computes (Song et al., 2021). The test images are
dequantised, y = (k + u) / 256 with one u per image, and scaled as the model sees them,
x = 2y - 1; bits/dim is (-log p(x) / D + ln 128) / ln 2, which bounds the discrete
-log2 P(k) / D in expectation over u (Theis et al., 2016): Song et al.'s "+7", and the
same number as the densities' (-log p(y) + D ln 256) / (D ln 2) in `likelihood_table`.

Which runs have such an ODE is one explicit seam, `_score_fn`:
- `FLOWS`: families whose velocity this tool integrates itself, from a builder
  (TrainedModel) -> `Flow`; the diffusion family's reads its U-Net as score_sde does.
- `LIKELIHOODS`: families whose own exact likelihood is already an ODE's (their
  `Inference.likelihood` calls `ode_likelihood.log_likelihood`, as flow matching's does);
  they are scored through `genjax.load`'s `log_prob`, with those of divergence, rtol, atol
  and solver that the likelihood takes as options (the run's config decides the rest). Their
  nll must be -log p of the image dequantised with noise from the key it gets, plus the
  offset that makes its `bits_per_dim` a bound on the discrete rate in expectation (Glow's
  -log p(y) + D ln 256). They report no evaluation count.
Any other family's run is refused in one line.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from genjax import commands
from genjax.errors import UserError
from genjax.models import conv
from genjax.models.unet import make_model
from genjax.objectives import ode_likelihood as ode
from genjax.objectives import probability_flow
from genjax.trained import TrainedModel
from genjax.training import restore
from genjax.tools import runs


@dataclasses.dataclass(frozen=True)
class Flow:
  """A trained model's probability-flow ODE in its own data space [-1, 1].

  Attributes:
    velocity: (params, x [B, ...], t) -> dx/dt.
    params: what velocity is applied with (a jit argument, not a constant).
    t_data, t_noise: the times of the data and of the standard normal.
  """
  velocity: Callable[[Any, jax.Array, jax.Array], jax.Array]
  params: Any
  t_data: float
  t_noise: float


def diffusion_flow(model: TrainedModel) -> Flow:
  """The probability-flow ODE of a DDPM run's U-Net (a conditional one's without a label)."""
  m, o = model.config.model, model.config.objective
  sde = probability_flow.vp_sde_of(o)
  k = model.info.num_classes
  # The solver calls the network inside a loop body (`conv.in_loop_body`).
  network = make_model({**m.to_dict(), 'conv': conv.in_loop_body(m.conv)}, k)

  def velocity(params, x, t):
    null = jnp.full((x.shape[0],), k, jnp.int32) if m.conditional else None
    net = lambda x, labels: network.apply(params, x, labels, null)
    return probability_flow.velocity(net, sde, o.prediction)(x, t)

  return Flow(velocity=velocity, params=model.params, t_data=probability_flow.T_DATA,
              t_noise=probability_flow.T_NOISE)


# family -> its Flow from the trained model: this tool integrates the ODE.
FLOWS: dict[str, Callable[[TrainedModel], Flow]] = {'diffusion': diffusion_flow}
# Families whose exact likelihood is their own ODE's, scored through `log_prob`.
LIKELIHOODS = ('flow_matching',)
_TRAIN_COMMANDS = {'diffusion': commands.DIFFUSION}


def _train_command(family: str) -> str:
  return _TRAIN_COMMANDS.get(
      family, f'python -m experiments.{family} --config=configs/{family}.py --workdir=<dir>')


# (images k/255 [B, ...], key) -> (bits/dim [B], velocity evaluations or None)
ScoreFn = Callable[[np.ndarray, jax.Array], tuple[np.ndarray, Any]]


def _score_fn(model: TrainedModel, *, divergence: str, rtol: float, atol: float,
              solver: str) -> tuple[ScoreFn, dict[str, Any]]:
  """How a run of its family is scored, and the settings it is scored with: the seam
  between this tool and the families."""
  if model.family in FLOWS:
    flow = FLOWS[model.family](model)
    dims = int(np.prod(model.info.example_shape))
    offset = ode.dequantization_offset()

    @jax.jit
    def bits(params, images01, rng):
      dequantize_rng, probe_rng = jax.random.split(rng)
      x = ode.dequantize(images01, dequantize_rng)
      log_p, nfe = ode.log_likelihood(
          lambda x, t: flow.velocity(params, x, t), x, probe_rng, t_data=flow.t_data,
          t_noise=flow.t_noise, divergence=divergence, rtol=rtol, atol=atol, solver=solver)
      return ode.bits_per_dim(log_p, dims, offset), nfe

    def score(images01, rng):
      values, nfe = bits(flow.params, jnp.asarray(images01), rng)
      return np.asarray(values), int(nfe)
    return score, {'divergence': divergence, 'rtol': rtol, 'atol': atol, 'solver': solver,
                   't_data': flow.t_data, 't_noise': flow.t_noise,
                   'dequantization': 'x = 2 (k + u) / 256 - 1, one u per image; bits/dim '
                                     '(-log p(x) / D + ln 128) / ln 2'}

  likelihood = model.inference.likelihood
  if likelihood is None or not likelihood.exact:
    raise UserError(f'A {model.family} model offers no exact likelihood for its ODE; use a '
                    f'run of {", ".join(FLOWS)}.')
  given = {'divergence': divergence, 'rtol': rtol, 'atol': atol, 'solver': solver}
  options = {name: value for name, value in given.items() if name in likelihood.options}

  def score(images01, rng):
    return model.log_prob({'image': images01}, rng, **options).bits_per_dim, None
  # What the family's likelihood does not take, its run's config decides.
  return score, {**options, 'likelihood': likelihood.description}


def _family(workdir: str) -> str:
  family = restore.read_run_config(workdir, '', commands.DIFFUSION).family
  if family not in FLOWS and family not in LIKELIHOODS:
    ode_families = ', '.join(sorted(set(FLOWS) | set(LIKELIHOODS)))
    raise UserError(f'{workdir} holds a {family!r} run, which has no probability-flow ODE; '
                    f'point at a run of {ode_families}, e.g. one trained with '
                    f'{commands.DIFFUSION}')
  return family


def run(workdir: str, *, examples: int, divergence: str = 'hutchinson', rtol: float = 1e-5,
        atol: float = 1e-5, solver: str = 'dopri5', batch_size: int = 100, seed: int = 0,
        out: str = '', log=print) -> dict:
  """Bits/dim of the first `examples` test images through the run's ODE; writes JSON to
  `out` (default <workdir>/ode_likelihood/ode_<divergence>.json) and returns it."""
  if examples < 1 or batch_size < 1:
    raise UserError(f'--examples={examples} and --batch_size={batch_size} must be positive.')
  if divergence not in ode.DIVERGENCES:
    raise UserError(f'--divergence={divergence}; choose one of {", ".join(ode.DIVERGENCES)}.')
  if not (rtol > 0 and atol > 0):
    raise UserError(f'--rtol={rtol} and --atol={atol} must be positive.')
  if solver not in ode.SOLVERS:
    raise UserError(f'--solver={solver}; choose one of {", ".join(ode.SOLVERS)}.')
  family = _family(workdir)
  model = runs.load(workdir, family, _train_command(family))
  score, settings = _score_fn(model, divergence=divergence, rtol=rtol, atol=atol,
                              solver=solver)
  shown = ', '.join(f'{k} {v}' for k, v in settings.items() if k in ('divergence', 'rtol',
                                                                      'atol', 'solver'))
  log(f'{workdir}: {family} run at step {model.step}; bits/dim of {examples} test images '
      f'through the probability-flow ODE ({shown or "the settings of its likelihood"})')
  key, values, nfes = jax.random.PRNGKey(seed), [], []
  batches = model.batches('test', batch_size=min(batch_size, examples), max_examples=examples)
  for i, batch in enumerate(batches):
    bits, nfe = score(np.asarray(batch['image'], np.float32), jax.random.fold_in(key, i))
    values.append(bits)
    nfes.append(nfe)
    done = np.concatenate(values)
    log(f'  {len(done)}/{examples} images: running mean {done.mean():.4f} bits/dim'
        + ('' if nfe is None else f', {nfe} velocity evaluations'))
  bpd, se = ode.mean_and_standard_error(np.concatenate(values))
  result = {'workdir': os.path.abspath(workdir), 'family': family, 'step': model.step,
            'examples': int(sum(len(v) for v in values)), 'seed': seed, **settings,
            'bpd': bpd, 'bpd_standard_error': se,
            'nfe_per_batch': None if None in nfes else nfes,
            'nfe_mean': None if None in nfes else float(np.mean(nfes))}
  out = out or os.path.join(workdir, 'ode_likelihood', f'ode_{divergence}.json')
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  with open(out, 'w') as f:
    json.dump(result, f, indent=2)
  nfe_text = '' if result['nfe_mean'] is None else \
      f', {result["nfe_mean"]:.0f} velocity evaluations a batch'
  log(f'ode likelihood: {bpd:.4f} ± {se:.4f} bits/dim (standard error){nfe_text}; '
      f'wrote {out}')
  return result
