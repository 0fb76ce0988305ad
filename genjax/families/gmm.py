"""The Gaussian mixture family: full-batch EM through the one loop, with no optimiser.

Every step is one EM iteration on the whole training set (`config.batch_size` is its size,
`total_steps` is scikit-learn's `max_iter`). Params are scikit-learn's `weights_`, `means_`
and `precisions_cholesky_`; model state holds the previous mean log-likelihood, the
iterations done and whether EM converged or failed. A step reports `loss` = -(mean
log-likelihood before its M-step, scikit-learn's lower bound) and `converged` once that
changes by less than `objective.tol`, which ends the run; a converged state is left as it
is by any further step, so it is scikit-learn's fitted model however steps are grouped.

Degenerate data. An M-step whose covariance is not positive definite (a component
collapsed onto one point or a few identical ones; scikit-learn raises "ill-defined
empirical covariance") is not applied: the step keeps the last well-defined params, sets
`ill_defined` in model state and reports `converged`, so that the run ends there with
every value finite (no NaN is computed into the state, and none is saved). The run's
final artifacts step, on the host, then raises `IllDefinedCovarianceError`, which names
`objective.reg_covar`; the entry point prints it as one line. The same holds for an
ill-defined initialisation.

What a trained mixture offers (`genjax.load`): `sample` (draws mapped back to pixels, as
the artifacts' sample images), its likelihood and `encode` (each example's
responsibilities and most likely component). The mixture is a density over the features
it was fitted to: the PCA scores when `data.pca_dims > 0`, else the pixels in [0, 1]; its
likelihood is the exact -log p(x) of those features in nats, not a probability of 8-bit
images. With `data.dequantize` the features are y = (k + u) / 256 and the likelihood is
the eval's 8-bit bound, -log p(y) + D ln 256 (`genjax.objectives.glow`), whose bits/dim
the eval reports.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genjax import config as config_lib
from genjax.errors import UserError
from genjax.data.features import feature_data
from genjax.figures import gmm as figures
from genjax.models import gmm
from genjax.objectives import glow as eight_bit
from genjax.objectives import gmm as em
from genjax.training.family import (Family, FamilyDef, Inference, Likelihood, Reporting,
                                    Training)


class IllDefinedCovarianceError(ValueError, UserError):
  """EM met a covariance that is not positive definite; the message names reg_covar."""


def schema() -> ml_collections.ConfigDict:
  return config_lib.with_family_schema(
      model=dict(components=10, covariance_type='full'),
      objective=dict(
          reg_covar=1e-6,  # added to every covariance's diagonal
          tol=1e-3,  # stop when the mean log-likelihood changes by less; 0: run every step
          init='kmeans',
          kmeans_max_iter=300),  # Lloyd iterations of the 'kmeans' initialisation
      eval_=dict(num_samples=100),  # samples drawn for the artifacts
      data=dict(name='fashion_mnist', tfds_data_dir='', tfds_download=False, idx_dir='',
                pca_dims=50,  # 0: the pixels themselves
                dequantize=False,  # pixels k -> (k + u) / 256; reports test bits/dim
                class_label=-1))  # >= 0: that class's images only (p(x|y)); -1: all


def _ill_defined_message(reg_covar: float, iterations: int) -> str:
  larger = 1e-6 if reg_covar == 0 else 10 * reg_covar
  return (f'EM failed after {iterations} iterations: some component has an ill-defined '
          'covariance (not positive definite: it collapsed onto one point or a few '
          f'identical ones) at objective.reg_covar={reg_covar:g}. Increase '
          f'--config.objective.reg_covar (e.g. to {larger:g}), decrease '
          '--config.model.components, or scale the data, and train in a new --workdir.')


def _unit_precisions_where_ill_defined(params, covariance_type: str):
  """Unit precisions for components an ill-defined initialisation left with factor 0, so
  that evaluating the params stays finite."""
  factor = params['precisions_cholesky']
  good = gmm.well_defined(factor, covariance_type=covariance_type)
  if covariance_type in ('full', 'tied'):
    unit, good = jnp.broadcast_to(jnp.eye(factor.shape[-1], dtype=factor.dtype),
                                  factor.shape), good[..., None, None]
  else:
    unit = jnp.ones_like(factor)
    good = good[:, None] if covariance_type == 'diag' else good
  return {**params, 'precisions_cholesky': jnp.where(good, factor, unit)}


def build(config: ml_collections.ConfigDict, info) -> Family:
  m, o, e = config.model, config.objective, config.eval
  kind = m.covariance_type
  features = info.features
  num_features = int(info.example_shape[0])
  dequantize = config.data.get('dequantize', False)
  if m.components > info.num_train:
    raise config_lib.ConfigError(
        f'model.components={m.components} exceeds the {info.num_train} training examples; '
        f'set --config.model.components={min(10, info.num_train)} (or fewer).')

  def init_params(rng, batch):
    x = jnp.asarray(batch['x'])
    resp = em.initial_responsibilities(rng, x, num_components=m.components, init=o.init,
                                       kmeans_max_iter=o.kmeans_max_iter)
    params, _ = em.params_from_responsibilities(x, resp, reg_covar=o.reg_covar,
                                                covariance_type=kind)
    return params  # an ill-defined component has factor 0, which init_model_state reads

  def init_model_state(rng, batch, params):
    del rng, batch
    factor = params['precisions_cholesky']
    return {'log_likelihood': jnp.zeros((), factor.dtype),
            'iterations': jnp.zeros((), jnp.int32),
            'converged': jnp.zeros((), bool),
            'ill_defined': ~jnp.all(gmm.well_defined(factor, covariance_type=kind))}

  def update_fn(state, batch, rng, frozen):
    del rng, frozen
    previous = state.model_state
    stopped = previous['converged'] | previous['ill_defined']
    new, log_likelihood, ok = jax.lax.cond(
        stopped, lambda p: (p, previous['log_likelihood'], jnp.ones((), bool)),
        lambda p: em.em_step(p, batch['x'], reg_covar=o.reg_covar, covariance_type=kind),
        state.params)
    ran = ~stopped & ok
    converged = previous['converged'] | (ran & (previous['iterations'] > 0) & (
        jnp.abs(log_likelihood - previous['log_likelihood']) < o.tol))
    model_state = {'log_likelihood': log_likelihood,
                   'iterations': previous['iterations'] + ran.astype(jnp.int32),
                   'converged': converged,
                   'ill_defined': previous['ill_defined'] | ~ok}
    params = jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, state.params)
    params = _unit_precisions_where_ill_defined(params, kind)
    metrics = {'loss': -log_likelihood, 'converged': converged | model_state['ill_defined'],
               'ill_defined': model_state['ill_defined'].astype(jnp.float32),
               'iterations': model_state['iterations']}
    return state.replace(params=params, model_state=model_state), metrics

  def eval_fn(params, batch, rng, context):
    del rng, context
    log_likelihood = gmm.log_likelihood(params, batch['x'], covariance_type=kind)
    if not dequantize:
      return {'log_likelihood': log_likelihood}
    bits = eight_bit.bits_per_dim(log_likelihood, num_features)
    return {'log_likelihood': log_likelihood, **eight_bit.per_example_terms(bits)}

  @jax.jit
  def criteria(params, x):
    return {'train_log_likelihood': jnp.mean(gmm.log_likelihood(params, x,
                                                                covariance_type=kind)),
            'bic': gmm.bic(params, x, covariance_type=kind),
            'aic': gmm.aic(params, x, covariance_type=kind)}

  def sample(params, rng, num_samples, context):
    """Draws from the mixture, mapped back to pixels: images [n, H, W, C] in [0, 1]."""
    del context
    samples, _ = gmm.sample(rng, params, num_samples, covariance_type=kind)
    return features.to_images(np.asarray(samples))

  def nll(params, batch, rng, context):
    """-log p(x) [B] in nats of the features under the mixture; with dequantisation, the
    8-bit bound -log p(y) + D ln 256, as the eval's bits/dim."""
    del rng, context
    log_likelihood = gmm.log_likelihood(params, batch['x'], covariance_type=kind)
    if dequantize:
      return -log_likelihood + num_features * math.log(eight_bit.LEVELS)
    return -log_likelihood

  def encode(params, batch, rng, context):
    """Each example's responsibilities p(component | x) [B, K] and the most likely
    component [B]."""
    del rng, context
    _, log_resp = gmm.log_responsibilities(params, jnp.asarray(batch['x']),
                                           covariance_type=kind)
    return {'responsibilities': jnp.exp(log_resp), 'component': jnp.argmax(log_resp, -1)}

  if dequantize:
    # As Glow's: the exact density of the dequantised image, on the 8-bit scale; of the
    # 8-bit image itself it is a bound in expectation over u (Theis et al., 2016).
    likelihood = Likelihood(
        nll=nll, exact=True, dims=num_features,
        description=f'-log p(y) + D ln 256 of the mixture\'s density over the '
        f'{num_features} dequantised pixels y = (k + u) / 256 (u fixed by the run\'s seed)')
  else:
    over = (f'the {num_features} PCA features (scores on the training set\'s top '
            'principal axes), not over pixels' if features.projection is not None
            else f'the {num_features} pixels in [0, 1], a density, not a probability of '
            '8-bit images')
    likelihood = Likelihood(nll=nll, exact=True, dims=num_features,
                            description=f'exact -log p(x) under the mixture, a density over '
                            f'{over}')
  inference = Inference(sample=sample, likelihood=likelihood, encode=encode)

  # The training features feed the artifacts' criteria (BIC, AIC); built without the
  # data (genjax.load) they are empty, and there are no artifacts.
  artifacts_fn = None if len(features.train) == 0 else _artifacts(features, criteria, o, e,
                                                                 kind)

  return Family(
      name='gmm',
      signature={'model': m.to_dict(), 'reg_covar': o.reg_covar, 'init': o.init,
                 'num_features': info.example_shape[0]},
      training=Training(init_params=init_params, init_model_state=init_model_state,
                        update_fn=update_fn, make_optimizer=lambda: None),
      reporting=Reporting(
          eval_fn=eval_fn,
          final_eval_fn=eval_fn,  # the final test log-likelihood, into final_metrics.json
          eval_summary=((lambda means: eight_bit.summary(means, len(features.test)))
                        if dequantize else None),
          artifacts_fn=artifacts_fn, render_figures=figures.render_run),
      inference=inference,
  )


def _artifacts(features, criteria, o, e, kind):
  def artifacts_fn(params, rng, context):
    model_state = context.model_state
    if model_state['ill_defined']:  # the host's first look at a failed run: raise here
      raise IllDefinedCovarianceError(_ill_defined_message(o.reg_covar,
                                                           int(model_state['iterations'])))
    samples, labels = gmm.sample(rng, params, e.num_samples, covariance_type=kind)
    return {**criteria(params, features.train), 'samples': samples, 'sample_labels': labels,
            'sample_images': features.to_images(np.asarray(samples)),
            'weights': params['weights'], 'means': params['means'],
            'iterations': model_state['iterations'], 'converged': model_state['converged']}

  return artifacts_fn


RANGES = {
    'model.components': 'positive',
    'model.covariance_type': gmm.COVARIANCE_TYPES,
    'objective.reg_covar': 'non_negative',
    'objective.tol': 'non_negative',
    'objective.init': em.INITS,
    'objective.kmeans_max_iter': 'positive',
    'eval.num_samples': 'positive',
    'data.pca_dims': 'non_negative',
}

FAMILY = FamilyDef(name='gmm', schema=schema, build=build, data=feature_data, ranges=RANGES)
