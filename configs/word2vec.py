"""word2vec's skip-gram with negative sampling on Debian's dict-gcide (about 5.4M words).

    python -m experiments.word2vec --config=configs/word2vec.py --workdir=runs/word2vec

The defaults are the settings gensim's skip-gram is run with on text8: 100-d, window 5, 5
negatives, sample 1e-4, min_count 5, 5 epochs, rate 0.025 decayed linearly to 1e-4 of
itself (word2vec.c's decay). Analogy accuracy over the 30k most frequent words, as
word2vec.c's compute-accuracy (gensim on text8: 40.4% total; Mikolov et al., 2013a,
Table 4: 53.3% for a 300-d skip-gram on 783M words). A 5.4M-word corpus does far worse
(about 2% for gensim on the 1M-word Brown corpus), so gensim run side by side
(`benchmarks/word2vec_gensim.py`) is the yardstick.
Variants, comma-separated after ':': smoke (seconds, on the tiny corpus of the tests),
softmax (the full-softmax objective instead of negative sampling), sqrt_keep
(subsampling keeps a word with probability sqrt(t/f), Mikolov et al., 2013b, Sec. 2.3,
instead of word2vec.c's sqrt(t/f) + t/f), device_sampler (the pairs drawn inside the
compiled step from the text held on the device, from the same distribution, instead of
on the host beside it; `benchmarks/word2vec_gensim.py --samplers host,device` times both).
"""

from configs import variants
from genjax.config import lock
from genjax.families import word2vec


def get_config(arg: str | None = None):
  c = word2vec.schema()
  c.family = 'word2vec'
  c.data.subsample = 1e-4
  # Pairs a step; docs/results/word2vec.md has how it was chosen (accuracy and speed).
  c.batch_size = 4096
  c.eval_batch_size = 250  # the softmax over the whole vocabulary per pair
  c.total_epochs = 5.0
  c.steps_per_call = 20
  c.optimizer.name = 'sgd'
  c.optimizer.learning_rate = 0.025
  c.log_every = 2000
  c.eval_every = 0
  c.ckpt_every = 20000
  c.figures_every = 0
  variants.apply(c, arg, _VARIANTS)
  return lock(c)


def _smoke(c):
  variants.smoke(c, dataset=None)
  c.data.corpus = 'tests/data/tiny_corpus.txt'
  c.data.min_count = 1
  c.data.subsample = 1e-3
  c.data.block = 100
  c.data.held_out_every = 10
  c.data.eval_pairs = 256
  c.model.dim = 8
  c.batch_size = 64
  c.eval_batch_size = 64
  c.eval.analogies = 'tests/data/tiny_analogies.txt'
  c.eval.analogy_vocab = 0
  c.eval.neighbour_words = ('paris', 'walked')
  c.eval.num_neighbours = 3
  c.eval.figure_pairs = 4


# get_config's variants by name, applied in the order the arg lists them.
_VARIANTS = {
    'smoke': _smoke,
    'softmax': lambda c: setattr(c.objective, 'name', 'softmax'),
    'sqrt_keep': lambda c: setattr(c.data, 'subsample_formula', 'paper'),
    'device_sampler': lambda c: setattr(c.data, 'sampler', 'device'),
}
VARIANTS = tuple(_VARIANTS)
