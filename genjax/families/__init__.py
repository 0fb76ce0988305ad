"""Model families: each module defines its `FAMILY` (a `genjax.training.family.FamilyDef`)."""
