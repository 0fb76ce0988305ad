"""The one training loop and its parts: state, update, step, mesh, checkpoints, progress."""
