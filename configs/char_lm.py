"""A character-level language model: the causal Transformer on text (the chain rule).

    python -m experiments.char_lm --config=configs/char_lm.py:cpu --workdir=runs/char_lm

Variants, comma-separated after ':': smoke (seconds, on tests/data/tiny_corpus.txt), cpu
(about 50 minutes on this 2-core CPU; see _cpu), topk (samples drawn from the 10 most probable
characters), naive (samples from the full-network-per-character sampler).
Default: nanoGPT's shakespeare-char model on Debian's dict-gcide (~40M characters; every
20th block of 10,000 held out, 2M characters): 6 layers, width 384, 6 heads, context 256,
batch 64, 5,000 steps, AdamW 1e-3 with beta2 0.99, weight decay 0.1, 100 warmup steps,
gradient clipping at 1. nanoGPT reaches a validation loss of about 1.47 nats/char (2.12
bits/char) on Shakespeare (1M characters, 65 symbols). Departures from it, by design:
another corpus (gcide's dictionary entries, 90 symbols with the unknown one); no dropout
(nanoGPT's 0.2; the Transformer here has none, and gcide is 40x larger); a constant rate
after warmup (nanoGPT decays it by a cosine to 1e-4); and every character of a window is
scored, the first from the start token alone (nanoGPT scores T targets that each have at
least one character of context), which adds about (unigram - model bits)/T per character.
"""

from configs import variants
from genjax.config import lock
from genjax.families import char_lm


def get_config(arg: str | None = None):
  c = char_lm.schema()
  c.family = 'char_lm'
  c.model.num_layers = 6
  c.model.dim = 384
  c.model.num_heads = 6
  c.data.context = 256
  c.batch_size = 64
  c.eval_batch_size = 64
  c.total_steps = 5000
  c.steps_per_call = 10
  c.log_every = 100
  c.eval_every = 1000
  c.ckpt_every = 500
  c.optimizer.name = 'adamw'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.beta2 = 0.99
  c.optimizer.weight_decay = 0.1
  c.optimizer.warmup_steps = 100
  c.optimizer.grad_clip_norm = 1.0
  c.eval.test_examples = 2000
  variants.apply(c, arg, _VARIANTS)
  return lock(c)


def _smoke(c):
  variants.smoke(c, dataset=None)  # text, not images
  c.data.corpus = 'tests/data/tiny_corpus.txt'
  c.data.context = 32
  c.data.block = 1000
  c.data.held_out_every = 10
  c.data.min_count = 5
  c.model.num_layers = 2
  c.model.dim = 32
  c.model.num_heads = 2
  c.optimizer.warmup_steps = 0
  c.eval.test_examples = 0
  c.eval.prompts = ('the king ', 'athens is ')
  c.eval.temperatures = (0.5, 1.0)
  c.eval.top_k = 5


def _cpu(c):
  """About 50 minutes alone on this 2-core CPU (3.5 steps/s; 2.3 beside another job): 4
  layers of width 128 (4 heads, 833K params; nanoGPT's has 10.7M), context 128, batch 32,
  10,000 steps (41M characters seen, one pass over gcide's; nanoGPT sees 82M). At 3,500
  steps the held-out bits/char still fell 0.035 every 500 steps (docs/results/char_lm.md), hence
  10,000. Every 40th block is held out (990,000 characters, 7,734 windows of 128, all of
  them evaluated every 1,000 steps)."""
  c.model.num_layers = 4
  c.model.dim = 128
  c.model.num_heads = 4
  c.data.context = 128
  c.data.held_out_every = 40
  c.batch_size = 32
  c.total_steps = 10000
  c.eval_every = 1000
  c.eval.test_examples = 0


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'cpu': _cpu,
    'topk': lambda c: setattr(c.eval, 'top_k', 10),
    'naive': lambda c: setattr(c.eval, 'sampler', 'naive'),
}
VARIANTS = tuple(_VARIANTS)
