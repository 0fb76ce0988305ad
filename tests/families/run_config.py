"""A config module's variant, unlocked, with fields changed: what a family test trains."""


def unlocked(config_module, arg: str = 'smoke', **fields):
  c = config_module.get_config(arg)
  c.unlock()
  c.update(fields)
  return c
