"""Trains VAR over a multi-scale tokenizer's tokens (stage 2). Configs: configs/var.py.

With --config.data.stage1_workdir empty and --config.data.stage1_config set (the smoke
variant sets it), it first trains that tokenizer into <workdir>/stage1 through the same
loop, then VAR over its tokens.
"""

from configs import code_prior as code_prior_config
from genjax import launch
from genjax.families import var, vqvae

if __name__ == '__main__':
  launch.train(var.FAMILY, upstream=(vqvae.FAMILY, code_prior_config.stage1_config))
