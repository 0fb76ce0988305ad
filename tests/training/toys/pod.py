"""The least-squares toy as an experiment main, for runs of several processes on localhost.

    python -m tests.training.toys.pod --config=tests/training/toys/pod.py --workdir=DIR \
        --coordinator_address=localhost:PORT --num_processes=2 --process_id=0 \
        [--config.data.poisoned_position=5 --config.data.poisoned_process=1]

It goes through the launcher every experiment main goes through, so its processes join,
agree, save, stop and report errors as a real run's do, in a fraction of the time.
"""

from genjax import launch
from tests.training.toys import common, regression

FAMILY = regression.family()


def get_config():
  return common.config(FAMILY, total_steps=40, steps_per_call=2, log_every=10,
                       eval_every=0, ckpt_every=20, keep_checkpoints=1000)


if __name__ == '__main__':
  launch.train(FAMILY)
