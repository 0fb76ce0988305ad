"""Run as a script under forced CPU devices (see test_fsdp.py); prints JSON results.

    python tests/training/fsdp_check.py steps        # 8 devices: sharded step = replicated
    python tests/training/fsdp_check.py resume DIR   # 2 devices: resumes DIR at fsdp=2
"""

import json
import os
import sys

DEVICES = 2 if sys.argv[1] == 'resume' else 8
# Compiled as the tests compile everything (tests/conftest.py): the same numbers, sooner.
os.environ['XLA_FLAGS'] = (f'--xla_force_host_platform_device_count={DEVICES} '
                           '--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from configs import autoregressive, vae, vqvae  # noqa: E402
from genjax.families import autoregressive as ar_family  # noqa: E402
from genjax.families import vae as vae_family  # noqa: E402
from genjax.families import vqvae as vqvae_family  # noqa: E402
from genjax.training.assemble import assemble  # noqa: E402
from genjax.training.loop import train_and_evaluate  # noqa: E402
from genjax.training.restore import load_run  # noqa: E402

FAMILIES = {  # a conv family, a transformer family, a family with model state
    'conv': (vae_family.FAMILY, lambda: vae.get_config('smoke,conv')),
    'transformer': (ar_family.FAMILY, lambda: autoregressive.get_config('smoke,transformer')),
    'vqvae': (vqvae_family.FAMILY, lambda: vqvae.get_config('smoke')),
}


def _config(name, **fields):
  c = FAMILIES[name][1]()
  c.unlock()
  c.steps_per_call = 1
  for key, value in fields.items():
    section, _, field = key.rpartition('.')
    (c[section] if section else c)[field] = value
  return c


def one_call(name, fsdp):
  """The params after one train call at `fsdp` (every leaf that divides split, however
  small), the loss, how many param leaves are split, and the compiled step's per-device
  argument bytes."""
  from genjax.training import sharding_rules  # pylint: disable=g-import-not-at-top
  sharding_rules.MIN_SIZE = 0
  a = assemble(FAMILIES[name][0], _config(name, **{'mesh.fsdp': fsdp}))
  state = a.initial_state()
  batches = a.batches(0)[0]
  split = sum('fsdp' in str(leaf.sharding.spec) for leaf in jax.tree.leaves(state.params))
  compiled = a.train_step.lower(state, batches, a.frozen).compile()
  argument_bytes = compiled.memory_analysis().argument_size_in_bytes
  state, metrics = compiled(state, batches, a.frozen)
  return (jax.device_get(state.params), float(np.asarray(metrics['loss'])[-1]), split,
          argument_bytes)


def steps():
  result = {'argument_bytes': {}}
  for name in FAMILIES:
    params1, loss1, split1, bytes1 = one_call(name, 1)
    params4, loss4, split4, bytes4 = one_call(name, 4)
    diff = max(float(np.max(np.abs(a - b))) for a, b in
               zip(jax.tree.leaves(params1), jax.tree.leaves(params4)))
    result[name] = {'loss1': loss1, 'loss4': loss4, 'max_param_diff': diff,
                    'split1': split1, 'split4': split4}
    if name == 'transformer':
      result['argument_bytes'] = {1: bytes1, 4: bytes4, 8: one_call(name, 8)[3]}
  return result


def train(workdir, fsdp, total_steps):
  from genjax.training import sharding_rules  # pylint: disable=g-import-not-at-top
  sharding_rules.MIN_SIZE = 0
  c = vae.get_config('smoke')
  c.unlock()
  c.mesh.fsdp, c.total_steps, c.steps_per_call = fsdp, total_steps, 2
  c.ckpt_every, c.eval_every, c.log_every = 2, 0, 2
  train_and_evaluate(vae_family.FAMILY, c, workdir)
  return jax.device_get(load_run(workdir).params)


def layouts(root):
  """A data-parallel run resumed at fsdp=4, against the same steps straight at fsdp=1."""
  straight = train(os.path.join(root, 'straight'), 1, 4)
  train(os.path.join(root, 'moved'), 1, 2)
  moved = train(os.path.join(root, 'moved'), 4, 4)
  return {'layout_max_diff': max(float(np.max(np.abs(a - b))) for a, b in
                                 zip(jax.tree.leaves(straight), jax.tree.leaves(moved)))}


if __name__ == '__main__':
  if sys.argv[1] == 'resume':  # the fsdp=4 run of 8 devices, on 2 devices at fsdp=2
    params = train(sys.argv[2], 2, 6)
    print(json.dumps({'step': load_run(sys.argv[2]).step,
                      'finite': bool(all(np.isfinite(x).all() for x in jax.tree.leaves(params)))}))
  else:
    out = steps()
    out.update(layouts(sys.argv[2]))
    print(json.dumps(out))
