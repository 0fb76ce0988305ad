"""Will a config fit before the slice is rented: its real train step compiled ahead of time
for a TPU topology on this host's CPU, as MaxText's `train_compile.py` does.

    python -m experiments.aot --config=configs/diffusion.py:cifar10 --topology=v5e:2x4
    python -m experiments.aot --table   # the paper variants on v5e-8, v5e-256 and v4-32

The step is the loop's own (`genjax.training.assemble.train_program`): the config's family
built for its dataset's shape without the data, its train state's shapes and their
`config.mesh` sharding over the topology's (data, fsdp) mesh, one call's `steps_per_call`
global batches, compiled by XLA for those devices. What the compiled program needs of
each device is read from it (`genjax.tools.aot_report`): memory against the chip's HBM,
FLOPs per step, collectives, and the step time that the chip's peak rate bounds.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

import jax
import ml_collections

from genjax.tools import aot_devices, aot_inputs, aot_levers, aot_report
from genjax.tools.aot_report import duration, size
from genjax.training import mesh as mesh_lib
from genjax.training import sharding_rules, utilization
from genjax.training.assemble import check_family, train_program
from genjax.training.step import default_unroll


@dataclasses.dataclass(frozen=True)
class Compiled:
  """One config's step compiled for one target, and what it needs of each device.

  Attributes:
    config: the config as compiled (unroll_steps as the target's backend sets it).
    target: the devices.
    mesh_shape: {'data': n, 'fsdp': m}.
    memory: XLA's layout; None when the TPU compiler refused a program too large for HBM.
    used_bytes: per device, from `memory`, or from the compiler's refusal.
    fits: whether `used_bytes` fits the target's memory; None where that is unknown.
    levers: where it does not fit, the settings that would cut its memory, likeliest first.
    fit_line: one line: how much of the memory it uses, or by how much it is over and what
      to try.
    flops_per_step: per device, XLA's count; None where the backend gives none.
    collectives: {op: (instructions, bytes)} in the program (a loop's body once).
    seconds: lowering and compiling.
  """
  config: ml_collections.ConfigDict
  target: aot_devices.Target
  mesh_shape: dict
  memory: aot_report.Memory | None
  used_bytes: float
  fits: bool | None
  levers: tuple
  fit_line: str
  flops_per_step: float | None
  collectives: dict
  seconds: float


def for_target(config: ml_collections.ConfigDict, target: aot_devices.Target) -> \
    ml_collections.ConfigDict:
  """`config` with the scan unrolled as the loop would unroll it on the target: the loop
  leaves it to the backend it runs on, and this process's backend is the host CPU."""
  config = config.copy_and_resolve_references()
  if target.platform != 'cpu' and not config.unroll_steps:
    config.unroll_steps = 1
  return config


def compile_step(config: ml_collections.ConfigDict, target: aot_devices.Target, *,
                 stage1_config: Callable[[str], ml_collections.ConfigDict] | None = None
                 ) -> Compiled:
  """Compiles `config`'s train step for `target` and reads what it needs of each device.

  `stage1_config`: data.stage1_config -> the stage-1 VQ-VAE config, for a second stage
  compiled without a trained stage 1 (configs/code_prior.py's `stage1_config`).
  """
  family_def = aot_inputs.family_def_of(config)
  check_family(config, family_def)
  config = for_target(config, target)
  devices = len(target.devices)
  sharding_rules.check_fsdp(config.mesh.fsdp, devices)
  mesh = mesh_lib.make_mesh(target.devices, fsdp=config.mesh.fsdp)
  mesh_lib.check_divides(config.batch_size, mesh, 'batch_size')
  start = time.monotonic()
  built = aot_inputs.build(family_def, config, mesh, stage1_config)
  program = train_program(built.family, config, mesh, built.example)
  state = jax.tree.map(lambda s, sharding: jax.ShapeDtypeStruct(s.shape, s.dtype,
                                                                sharding=sharding),
                       program.abstract_state, program.state_sharding)
  memory, flops, collectives = None, None, {}
  hbm, refused = target.hbm_bytes, False
  try:
    compiled = program.train_step.lower(state, built.batches, built.frozen).compile()
  except jax.errors.JaxRuntimeError as e:
    used = aot_report.used_bytes_from_error(str(e))
    if used is None:
      raise
    # The compiler keeps part of the chip's memory for itself: what it says it could give
    # is the limit the program missed.
    refused = True
    hbm = aot_report.available_bytes_from_error(str(e)) or hbm
    # The compiler names the total only; the arguments are the inputs' shards.
    arguments = aot_report.bytes_on_one_device((state, built.batches, built.frozen))
    estimate = aot_report.Memory(arguments=arguments, outputs=0, aliased=0,
                                 temporaries=max(used - arguments, 0), code=0)
  else:
    memory = estimate = aot_report.memory_of(compiled)
    used = memory.total if memory else 0.0
    flops = utilization.compiled_flops(compiled)
    collectives = aot_report.collectives_of(compiled.as_text())
  seconds = time.monotonic() - start
  steps = config.steps_per_call
  if flops is not None:
    counted = utilization.steps_counted(steps, config.unroll_steps or default_unroll(steps))
    # Accumulation runs its micro-batches in a loop, whose body XLA counts once too.
    flops = flops / counted * config.grad_accum_steps
  where = f'a {target.kind} ({target.memory_source()})'
  options = []
  if estimate is None:
    fits, line = None, f'fits: unknown, XLA gives no memory analysis for {where}'
  else:
    if hbm is not None and (refused or used > hbm):
      training = built.family.training
      options = aot_levers.levers(
          config, estimate, devices, max(used - hbm, 0.0),
          compute_dtypes=family_def.compute_dtypes,
          can_accumulate=training.update_fn is None and training.init_model_state is None)
    fits, line = aot_report.fit_line(used, hbm, where, estimate, options, refused=refused)
  return Compiled(config=config, target=target, mesh_shape=dict(mesh.shape), memory=memory,
                  used_bytes=used, fits=fits, levers=tuple(options), fit_line=line,
                  flops_per_step=flops, collectives=collectives, seconds=seconds)


def report(result: Compiled) -> list[str]:
  """The lines `experiments.aot` prints for one compile, the fits line last."""
  t, c = result.target, result.config
  mesh = ' x '.join(f'{k}={v}' for k, v in result.mesh_shape.items())
  lines = [f'{len(t.devices)} x {t.kind} ({t.name}), mesh {mesh}; batch {c.batch_size} '
           f'({c.batch_size // len(t.devices)} a device) x {c.steps_per_call} steps a call; '
           f'compiled ahead of time on this host in {result.seconds:.0f} s']
  m = result.memory
  if m is None:
    lines.append(f'memory per device: {size(result.used_bytes)}, as the TPU compiler reports '
                 'the program it refused for not fitting')
  else:
    rows = [('arguments', m.arguments, 'train state, batches, frozen stage 1'),
            ('outputs', m.outputs, 'new state, metrics'),
            ('aliased', -m.aliased, 'outputs written over the donated state'),
            ('temporaries', m.temporaries, 'activations, gradients, optimiser intermediates'),
            ('generated code', m.code, ''),
            ('total', m.total, f'of {size(t.hbm_bytes)} {t.memory_source()}'
             if t.hbm_bytes else '')]
    lines.append('memory per device (compiled.memory_analysis()):')
    lines += [f'  {name:<15}{"-" if n < 0 else " "}{size(abs(n)):>11}  {what}'.rstrip()
              for name, n, what in rows]
  if result.flops_per_step is not None:
    flops = result.flops_per_step
    lines.append(f'FLOPs per step per device (compiled.cost_analysis()): {flops:.3e}'
                 + (f' (its {c.grad_accum_steps} micro-batches together)'
                    if c.grad_accum_steps > 1 else ''))
    if t.peak_flops:
      lines.append(f'step time lower bound at the chip\'s peak bf16 rate '
                   f'({t.peak_flops / 1e12:.0f} TFLOP/s): {duration(flops / t.peak_flops)} '
                   '(FLOPs / peak; the real step is slower by memory traffic and collectives)')
  if result.collectives:
    parts = [f'{n} {op} ({size(total)})'
             for op, (n, total) in sorted(result.collectives.items())]
    lines.append('collectives in the program (a loop body once; sizes of their results): '
                 + ', '.join(parts))
  elif result.memory is not None:
    lines.append('collectives in the program: none')
  lines.append(result.fit_line)
  return lines

