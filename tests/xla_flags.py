"""The XLA flags of every test process and of every main or script a test starts."""

# The tests compile far more than they compute (smoke runs of a few steps), so XLA's
# backend compiles at optimisation level 0, and XLA:CPU emits its fusions by its older
# loop emitter rather than the MLIR fusion emitters, which take longer to compile: the
# smoke runs compile several times faster, with the same metrics, and the pinned
# regression metrics hold. Every test process and every main a test starts inherits it;
# tests that set XLA_FLAGS for a process they start use `flags`.
FAST_COMPILE = '--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false'


def flags(devices: int | None = None) -> str:
  """XLA_FLAGS for a process a test starts: FAST_COMPILE, and `devices` forced CPU devices
  when given (else one), whatever the test's own process was given."""
  forced = f' --xla_force_host_platform_device_count={devices}' if devices else ''
  return FAST_COMPILE + forced
