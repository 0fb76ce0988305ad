"""Model families: each module defines its `FAMILY` (a `genjax.training.family.FamilyDef`)
and nothing else that another package reads. Networks and their builders are in
`genjax.models`, losses in `genjax.objectives`, samplers in `genjax.samplers`, what the
priors over a VQ-VAE's codes share in `genjax.stage2`, and the commands a refusal names in
`genjax.commands`."""
