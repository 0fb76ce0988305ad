"""Bits/dim of a trained run through its probability-flow ODE, with its standard error.

    python -m experiments.ode_likelihood --workdir=runs/ddpm --examples=500

Song et al. (2021) report 3.28 bits/dim for DDPM on CIFAR-10 this way (Hutchinson-Skilling
divergence, RK45 at rtol = atol = 1e-5, uniform dequantisation). See
genjax/tools/ode_likelihood.py for the runs it reads and the dequantisation.
"""

from absl import app, flags, logging

from genjax import cli_errors
from genjax.tools import ode_likelihood

_WORKDIR = flags.DEFINE_string('workdir', None, 'A trained run with a probability-flow ODE '
                               '(a diffusion run).')
_EXAMPLES = flags.DEFINE_integer('examples', 500, 'The first n test images.')
_DIVERGENCE = flags.DEFINE_enum('divergence', 'hutchinson', ['hutchinson', 'exact'],
                                "hutchinson: one vjp per evaluation, an unbiased estimate; "
                                'exact: the Jacobian\'s trace, one jvp per dimension.')
_RTOL = flags.DEFINE_float('rtol', 1e-5, 'The ODE solver\'s relative tolerance.')
_ATOL = flags.DEFINE_float('atol', 1e-5, 'The ODE solver\'s absolute tolerance.')
_SOLVER = flags.DEFINE_enum('solver', 'dopri5', ['dopri5', 'tsit5'], 'The adaptive solver.')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 100, 'Images per solve (they share its steps).')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the dequantisation and the probes.')
_OUT = flags.DEFINE_string('out', '', 'JSON path; default '
                           '<workdir>/ode_likelihood/ode_<divergence>.json.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.WARNING)  # Orbax logs every file it reads at INFO
  ode_likelihood.run(_WORKDIR.value, examples=_EXAMPLES.value, divergence=_DIVERGENCE.value,
                     rtol=_RTOL.value, atol=_ATOL.value, solver=_SOLVER.value,
                     batch_size=_BATCH_SIZE.value, seed=_SEED.value, out=_OUT.value)


if __name__ == '__main__':
  flags.mark_flags_as_required(['workdir'])
  cli_errors.run_tool(main)
