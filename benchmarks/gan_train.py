"""genjax vs PyTorch DCGAN training on this CPU, side by side, in one run.

Command (from the repository root; the .txt beside the JSON is this output, through tee):

  .venv/bin/python -m benchmarks.gan_train \
      --out results/benchmarks/gan_train.json | tee results/benchmarks/gan_train.txt

Both sides train the networks of configs/gan.py:cpu (z of 100; G to 7x7x128, 14x14x64 and
28x28 with BatchNorm and ReLU, tanh; D back down with LeakyReLU(0.2) and BatchNorm, one
linear map to a logit; the non-saturating G loss) with Adam 2e-4, betas (0.5, 0.999), on
batches of 64 images in [-1, 1], with an EMA of G (0.999); a step is one D step and one G
step, as pytorch/examples' `dcgan` takes them. genjax runs the loop's own step
(benchmarks/loop_step.py; BatchNorm statistics as model state); PyTorch
benchmarks/torch_dcgan.py with the data preloaded. Parameter counts per network are
checked equal. Timed: examples/s, interleaved repeats; the ratio is of the medians.
Levers tried: docs/results/performance.md.
"""

from __future__ import annotations

from benchmarks import loop_step
from configs import gan as gan_config
from genjax.families import gan


def torch_implements(config) -> dict:
  m, o, opt = config.model, config.objective, config.optimizer
  return {'model.conditional': (m.conditional, False),
          'model.spectral_norm': (m.spectral_norm, False),
          'objective.generator_loss': (o.generator_loss, 'non_saturating'),
          'objective.r1_gamma': (o.r1_gamma, 0.0), 'optimizer.name': (opt.name, 'adam'),
          'optimizer.grad_clip_norm': (opt.grad_clip_norm, 0.0),
          'optimizer.weight_decay': (opt.weight_decay, 0.0),
          'optimizer.warmup_steps': (opt.warmup_steps, 0)}


def torch_side(config, images01, threads):
  from benchmarks import torch_dcgan  # pylint: disable=g-import-not-at-top
  m, opt = config.model, config.optimizer
  return torch_dcgan.TorchTrain(images01, batch_size=config.batch_size, lr=opt.learning_rate,
                                beta1=opt.beta1, latent_dim=m.latent_dim, channels=m.channels,
                                ema_decay=config.ema_decay, threads=threads)


BENCHMARK = loop_step.OneStep(
    module='gan_train', config_file='configs/gan.py', family_def=gan.FAMILY,
    get_config=gan_config.get_config, torch_implements=torch_implements,
    torch_side=torch_side,
    counts=lambda params: {name: loop_step.count(params[name])
                           for name in ('generator', 'discriminator')},
    torch_counts=lambda t: {'generator': sum(p.numel() for p in t.netG.parameters()),
                            'discriminator': sum(p.numel() for p in t.netD.parameters())},
    facts=lambda step: {'batchnorm_statistics': loop_step.count(step.state.model_state)},
    losses=('d_loss', 'g_loss'),
    loss_note="losses in nats at the last timed step: D's the BCE of real and fake summed, "
              "G's the non-saturating -log D(G(z)); log 4 and log 2 at the equilibrium")


def main(argv=None):
  loop_step.main(BENCHMARK, __doc__, argv)


if __name__ == '__main__':
  main()
