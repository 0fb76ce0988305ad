"""A family's run as the loop compiles it, before any workdir: the checked config, the
mesh, the data, the built family, its optimiser, the initial state and the compiled train
step. The loop trains through `assemble`, and the benchmarks time what it returns, so
both run the same program.
"""

from __future__ import annotations

import dataclasses

import jax
import ml_collections
from jax.sharding import Mesh

from genjax import config as config_lib
from genjax.data.family_data import Data
from genjax.training import accumulation
from genjax.training import mesh as mesh_lib
from genjax.training import sharding_rules
from genjax.training.family import Family, FamilyDef
from genjax.training.optimizers import make_optimizer
from genjax.training.positions import stacked_batches
from genjax.training.state import TrainState, create_train_state
from genjax.training.step import make_train_step
from genjax.training.update import gradient_update


def check_family(config: ml_collections.ConfigDict, family_def: FamilyDef) -> None:
  """Refuses a config written for another family, and validates it against the schema."""
  if config.family != family_def.name:
    raise config_lib.ConfigError(
        f"This is a '{config.family}' config, but this main trains the "
        f"'{family_def.name}' family. Run the config with its own family's main, or pass "
        f"a '{family_def.name}' config (configs/<name>.py).")
  config_lib.validate(config, family_def.schema(), ranges=family_def.ranges)
  if config.compute_dtype not in family_def.compute_dtypes:
    raise config_lib.ConfigError(
        f"The '{family_def.name}' family computes in {' or '.join(family_def.compute_dtypes)} "
        f"only, not --config.compute_dtype={config.compute_dtype}; drop that flag.")


def family_optimizer(family: Family, config: ml_collections.ConfigDict):
  """The family's own optimiser(s) when it brings them, else the config's `optimizer`."""
  make = family.training.make_optimizer
  return make() if make else make_optimizer(config.optimizer)


def run_keys(seed: int) -> dict[str, jax.Array]:
  """The run's four keys: params init, the state's base rng, evaluation and figures."""
  return dict(zip(('init', 'state', 'eval', 'figures'),
                  jax.random.split(jax.random.PRNGKey(seed), 4)))


@dataclasses.dataclass(frozen=True)
class Assembled:
  """Everything the loop compiles for one config.

  Attributes:
    config: the validated config.
    family: the built family.
    data: its data, this host's share of it.
    mesh: the devices the step runs on.
    optimizer: the optax transform(s), or None for gradient-free families.
    frozen: the family's frozen upstream params, replicated over the mesh.
    state_sharding: the train state's shardings (`config.mesh`'s rules).
    train_step: (state, batches, frozen) -> (state, metrics), `steps_per_call` updates.
  """
  config: ml_collections.ConfigDict
  family: Family
  data: Data
  mesh: Mesh
  optimizer: object
  frozen: object
  state_sharding: object
  train_step: object

  def initial_state(self) -> TrainState:
    """The family's freshly initialised train state, laid out over the mesh."""
    create = _state_factory(self.family, self.optimizer, self.config, self.data.train.batch(0))
    return jax.jit(create, out_shardings=self.state_sharding)(run_keys(self.config.seed)['init'])

  def batches(self, step: int, skipped=()) -> tuple[dict[str, jax.Array], list[int]]:
    """The global batches of the call that starts at `step`, stacked over its steps and
    sharded over the mesh, with their data positions."""
    stacked, positions = stacked_batches(self.data.train, step, self.config.steps_per_call,
                                         skipped)
    return mesh_lib.global_batch(stacked, self.mesh, batch_axis=1), positions


def _state_factory(family: Family, optimizer, config: ml_collections.ConfigDict, example):
  """init rng -> the family's fresh train state."""
  training, state_rng = family.training, run_keys(config.seed)['state']

  def create(rng):
    params = training.init_params(rng, example)
    model_state = (training.init_model_state(jax.random.fold_in(rng, 1), example, params)
                   if training.init_model_state else None)
    return create_train_state(params, optimizer, state_rng, ema=config.ema_decay > 0,
                              model_state=model_state)

  return create


def assemble(family_def: FamilyDef, config: ml_collections.ConfigDict) -> Assembled:
  """Checks `config`, loads this host's data, builds the family and compiles its step."""
  check_family(config, family_def)
  sharding_rules.check_fsdp(config.mesh.fsdp, jax.device_count())
  mesh = mesh_lib.make_mesh(fsdp=config.mesh.fsdp)
  mesh_lib.check_divides(config.batch_size, mesh, 'batch_size')
  mesh_lib.check_divides(config.eval_batch_size, mesh, 'eval_batch_size')
  data = family_def.data(config, jax.process_index(), jax.process_count())
  family = family_def.build(config, data.info)
  if family.name != family_def.name:
    raise TypeError(f"The '{family_def.name}' family's build returned a Family named "
                    f"'{family.name}'; the two names must agree.")
  step = train_program(family, config, mesh, data.train.batch(0))
  return Assembled(config=config, family=family, data=data, mesh=mesh,
                   optimizer=step.optimizer,
                   frozen=jax.device_put(family.training.frozen, mesh_lib.replicated(mesh)),
                   state_sharding=step.state_sharding, train_step=step.train_step)


@dataclasses.dataclass(frozen=True)
class TrainProgram:
  """A built family's optimiser, its train state's shapes and layout, and its jitted step."""
  optimizer: object
  abstract_state: TrainState  # of jax.ShapeDtypeStructs
  state_sharding: object
  train_step: object


def train_program(family: Family, config: ml_collections.ConfigDict, mesh: Mesh,
                  example) -> TrainProgram:
  """What `assemble` compiles for `family` over `mesh`, from one example batch alone, so
  that `genjax.tools.aot` compiles the same step for devices it does not have."""
  optimizer = family_optimizer(family, config)
  training = family.training
  accumulation.check(family.name, config.grad_accum_steps, config.batch_size,
                     mesh.devices.size, own_update=training.update_fn is not None,
                     model_state=training.init_model_state is not None)
  update = training.update_fn or gradient_update(training.loss_fn, optimizer,
                                                 config.ema_decay, config.grad_accum_steps)
  abstract_state = jax.eval_shape(_state_factory(family, optimizer, config, example),
                                  run_keys(config.seed)['init'])
  state_sharding = sharding_rules.state_shardings(abstract_state, mesh, config.mesh.rules)
  return TrainProgram(optimizer=optimizer, abstract_state=abstract_state,
                      state_sharding=state_sharding,
                      train_step=make_train_step(update, mesh, state_sharding=state_sharding,
                                                 unroll=config.unroll_steps))
