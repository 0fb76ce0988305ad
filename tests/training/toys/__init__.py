"""Toy families, one per shape of family in genjax's scope, each in its own module and
registered nowhere: an experiment main (here, a test) hands its `FAMILY` to the loop."""
