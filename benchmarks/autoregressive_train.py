"""genjax vs PyTorch training of PixelCNN and Gated PixelCNN on this CPU, in one run.

Command (from the repository root):

  .venv/bin/python -m benchmarks.autoregressive_train [--out results.json]

Both sides train configs/autoregressive.py's 'pixelcnn,cpu' and 'gated,cpu' networks
(Bernoulli head; Adam 3e-4 after clipping at 1.0) on batches of 64 binarised images:
genjax the loop's own step (benchmarks/loop_step.py) with --steps-per-call fused steps,
PyTorch benchmarks/torch_pixelcnn.py (the same layers as masked nn.Conv2d) with the data
preloaded. Parameter counts are checked equal. Every model on both sides is timed each
repeat (interleaved); the table gives medians and the ratio genjax / torch.
"""

from __future__ import annotations

from benchmarks import loop_step
from benchmarks.harness import (Timer, arguments, begin, best_and_median, command_line, finish,
                                interleaved_repeats, load_images)
from configs import autoregressive as ar_config
from genjax.families import autoregressive

GOAL = 0.8  # genjax / torch examples/s
MODELS = {'pixelcnn': 'pixelcnn', 'gated_pixelcnn': 'gated'}  # name -> config variant


def parse_args(argv=None):
  p = arguments(__doc__, 3, 5.0)
  p.add_argument('--models', default='pixelcnn,gated_pixelcnn')
  p.add_argument('--batch', type=int, default=64)
  p.add_argument('--steps-per-call', type=int, default=10)
  p.add_argument('--skip-torch', action='store_true')
  p.add_argument('--torch-conv', default='full', choices=('full', 'cropped'),
                 help="PixelCNN's masked convs: full k x k kernels (the usual way) or "
                      'cropped to the rows the mask keeps')
  p.add_argument('--torch-channels-last', action='store_true')
  p.add_argument('--torch-threads', type=int, default=0,
                 help='0: one per CPU. On a shared machine 1 can be faster: OpenMP threads '
                      'stall at barriers when one of them is descheduled')
  return p.parse_args(argv)


def train_step(name: str, batch: int, steps_per_call: int) -> loop_step.LoopStep:
  config = loop_step.benchmark_config(ar_config.get_config, f'{MODELS[name]},cpu',
                                      batch_size=batch, steps_per_call=steps_per_call)
  return loop_step.LoopStep(autoregressive.FAMILY, config, calls=4)


def torch_train(name, images, batch, conv='full', channels_last=False, threads=0):
  """benchmarks/torch_pixelcnn.py's step for `name`, with its effective parameter count."""
  from benchmarks import torch_pixelcnn  # pylint: disable=g-import-not-at-top
  t = torch_pixelcnn.TorchTrain(name, images, batch_size=batch, cropped=conv == 'cropped',
                                channels_last=channels_last, threads=threads)
  t.num_params = torch_pixelcnn.effective_parameter_count(t.model)
  return t


def main(argv=None):
  args = parse_args(argv)
  names = [m for m in args.models.split(',') if m]
  env, machine = begin(__doc__, torch_threads=args.torch_threads or 'one per CPU')
  images, data_line = load_images(binarize=True)
  print(f'batch {args.batch}, genjax steps_per_call {args.steps_per_call}, torch convs '
        f"{args.torch_conv}{', channels_last' if args.torch_channels_last else ''}; "
        'compiling and warming up ...', flush=True)
  sides, timers = {}, {}
  for name in names:
    sides[name, 'genjax'] = step = train_step(name, args.batch, args.steps_per_call)
    timers[name, 'genjax'] = step.timer(args.min_time)
    if not args.skip_torch:
      sides[name, 'torch'] = t = torch_train(name, images, args.batch, args.torch_conv,
                                             args.torch_channels_last, args.torch_threads)
      if t.num_params != step.num_params:
        raise AssertionError(f'{name}: genjax has {step.num_params:,} parameters, torch '
                             f'{t.num_params:,}')
      timers[name, 'torch'] = Timer(t.run_n, args.batch, args.min_time, warm_up=3)
    print(f'  {name}: {step.num_params:,} parameters'
          + ('' if args.skip_torch else ' on both sides'), flush=True)

  raw, others = interleaved_repeats({key: t.rate for key, t in timers.items()}, args.repeats)
  _, median = best_and_median(raw)
  print(f"\n{'model':16s} {'genjax ex/s':>12s} {'torch ex/s':>12s} {'ratio':>7s}  "
        'per-repeat ratios')
  rows = {}
  for name in names:
    g, step = median[name, 'genjax'], sides[name, 'genjax']
    rows[name] = row = {'genjax_examples_per_sec': g, 'parameters': step.num_params,
                        'genjax_last_loss': step.last(), 'genjax_compile_s': step.compile_s,
                        'genjax_conv_flop_share': step.conv_flop_share.record()}
    if args.skip_torch:
      print(f'{name:16s} {g:12.1f}')
      continue
    t = median[name, 'torch']
    per_repeat = [a / b for a, b in zip(raw[name, 'genjax'], raw[name, 'torch'])]
    row.update(torch_examples_per_sec=t, ratio=g / t, per_repeat_ratios=per_repeat,
               torch_last_loss=sides[name, 'torch'].last_loss)
    print(f'{name:16s} {g:12.1f} {t:12.1f} {g / t:6.2f}x  '
          + ', '.join(f'{v:.2f}' for v in per_repeat))
  if not args.skip_torch:
    print(f'goal: genjax >= {GOAL}x torch: ' + ', '.join(
        f"{n} {'MET' if rows[n]['ratio'] >= GOAL else 'NOT MET'}" for n in names))
  finish(args.out, {
      'command': command_line('benchmarks.autoregressive_train', argv),
      'data': {'genjax': sides[names[0], 'genjax'].assembled.data.description,
               'torch': data_line},
      'settings': {k: v for k, v in vars(args).items() if k != 'out'}, 'models': rows,
      'examples_per_sec_raw': {f'{n} {s}': v for (n, s), v in raw.items()},
  }, machine, others, env)


if __name__ == '__main__':
  main()
