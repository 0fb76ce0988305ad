"""p(x|y) as a classifier on the Fashion-MNIST test set: argmax_y log p(x|y) + log p(y).

    python -m experiments.bayes_classifier --config=configs/bayes_classifier.py \
        --workdir=runs/bayes_classifier

It fits one Gaussian mixture per class (configs/gmm.py on PCA-50 features, the axes of the
whole training set) into <workdir>/gmm_class<c>, and reads two class-conditional runs that
must exist: the conditional VAE of experiments/vae_paper.py (cvae_workdir, scored by its
IWAE bound with iwae_k samples) and a conditional Gated PixelCNN (pixelcnn_workdir, exact
log-likelihood; configs/autoregressive.py:gated,cond,cpu). Empty workdirs skip a model.
It writes <workdir>/summary.json, table.md (accuracy and test log-likelihoods beside the
discriminative CNN's accuracy from discriminative_metrics) and figures/least_likely.png,
figures/confusion.png. Variant smoke: the 8x8 digits' mixtures only, in seconds.
"""

import ml_collections

from configs import gmm as gmm_config
from configs import variants

VARIANTS = ('smoke',)


def get_config(arg: str | None = None):
  smoke = 'smoke' in variants.parse(arg, VARIANTS)
  c = ml_collections.ConfigDict()
  c.gmm = gmm_config.get_config('smoke' if smoke else '')
  c.gmm.eval.num_samples = 16  # the class mixtures' own sample figures stay small
  c.cvae_workdir = '' if smoke else 'runs/vae_paper/cvae'
  c.pixelcnn_workdir = '' if smoke else 'runs/ar/gated_cond'
  c.iwae_k = 100
  c.test_examples = 0  # 0: the whole test set; else its first n images, for every model
  c.batch_size = 250
  c.least_likely = 8
  c.discriminative_metrics = '' if smoke else 'results/classifier/metrics.jsonl'
  c.lock()
  return c
