"""genjax's packages are layered: a module imports only its own entry or a lower one.

Every module under genjax/ is parsed with `ast`; every import in it (at module level and
inside functions, `import x` and `from x import y`, relative imports resolved) that names
another genjax entry must name a LOWER entry of LAYERS, and the graph of entries has no
cycle. An entry is a package directly under genjax/ (genjax.models) or a single module
(genjax.errors); genjax/__init__.py sits at the top with the entry points.
"""

import ast
import os

# Lowest first. A module may import from its own entry or from an entry before it. The
# entry points come last: `launch` (the experiment mains' runner) uses `cli_errors`, and
# genjax/__init__.py re-exports from below.
LAYERS = ('errors', 'commands', 'config', 'distributions', 'metrics', 'diffusion', 'figures',
          'models', 'objectives', 'samplers', 'data', 'training', 'evals', 'stage2', 'families',
          'trained', 'tools', 'cli_errors', 'launch', 'sample', 'score', 'export',
          '__init__')

# Read as source, not imported: a cycle must be reported, not crash the test's import.
_ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'genjax')


def _modules():
  """(dotted module name, path, is_package) of every .py file under genjax/."""
  for dirpath, dirnames, filenames in os.walk(_ROOT):
    dirnames[:] = sorted(d for d in dirnames if d != '__pycache__')
    for filename in sorted(filenames):
      if not filename.endswith('.py'):
        continue
      path = os.path.join(dirpath, filename)
      parts = ['genjax'] + os.path.relpath(path, _ROOT)[:-len('.py')].split(os.sep)
      is_package = parts[-1] == '__init__'
      if is_package:
        parts = parts[:-1]
      yield '.'.join(parts), path, is_package


def _entry(module: str) -> str | None:
  """The LAYERS entry of a dotted genjax module name; None for a name outside genjax."""
  parts = module.split('.')
  if parts[0] != 'genjax':
    return None
  return parts[1] if len(parts) > 1 else '__init__'


def _imports(module: str, path: str, is_package: bool):
  """(line, imported genjax module) of every import in the file, relative ones resolved."""
  with open(path) as f:
    tree = ast.parse(f.read(), path)
  package = module if is_package else module.rpartition('.')[0]
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      for alias in node.names:
        yield node.lineno, alias.name
    elif isinstance(node, ast.ImportFrom):
      if node.level:
        base = package.split('.')
        base = base[:len(base) - (node.level - 1)]
        target = '.'.join(base + ([node.module] if node.module else []))
      else:
        target = node.module
      if target == 'genjax' or (node.level and not node.module):
        # `from genjax import models` / `from . import x` imports submodules (or names of
        # the package's __init__): count each name as the module it names.
        for alias in node.names:
          yield node.lineno, f'{target}.{alias.name}'
      else:
        yield node.lineno, target


def _edges():
  """(module, line, imported module, from entry, to entry) of every cross-entry import."""
  for module, path, is_package in _modules():
    source = _entry(module)
    for line, target in _imports(module, path, is_package):
      dest = _entry(target)
      if dest is None or dest == source:
        continue
      yield module, line, target, source, dest


def _order_message() -> str:
  return 'layer order, lowest first: ' + ' < '.join(LAYERS)


def test_every_entry_is_in_the_layer_order():
  entries = {_entry(module) for module, _, _ in _modules()}
  missing = sorted(entries - set(LAYERS))
  assert not missing, (f'genjax entries not in LAYERS: {missing}; add each where it belongs '
                       f'({_order_message()})')


def test_imports_go_down_the_layers():
  rank = {name: i for i, name in enumerate(LAYERS)}
  bad = []
  for module, line, target, source, dest in _edges():
    if dest not in rank or source not in rank:
      continue  # reported by test_every_entry_is_in_the_layer_order
    if rank[dest] >= rank[source]:
      bad.append((module, line, target))
  assert not bad, ('imports of an equal or higher genjax entry (module, line, imported '
                   'module):\n  ' + '\n  '.join(map(str, sorted(bad))) + '\n' +
                   _order_message())


def test_entries_have_no_import_cycle():
  graph: dict[str, set[str]] = {}
  where: dict[tuple[str, str], tuple[str, int, str]] = {}
  for module, line, target, source, dest in _edges():
    graph.setdefault(source, set()).add(dest)
    where.setdefault((source, dest), (module, line, target))
  # Depth-first search; a grey node reached again closes a cycle.
  colour: dict[str, int] = {}
  cycles = []

  def visit(node, stack):
    colour[node] = 1
    stack.append(node)
    for nxt in sorted(graph.get(node, ())):
      if colour.get(nxt) == 1:
        cycles.append(stack[stack.index(nxt):] + [nxt])
      elif not colour.get(nxt):
        visit(nxt, stack)
    stack.pop()
    colour[node] = 2

  for node in sorted(graph):
    if not colour.get(node):
      visit(node, [])
  lines = []
  for cycle in cycles:
    lines.append(' -> '.join(cycle) + ': ' +
                 ', '.join(str(where[(a, b)]) for a, b in zip(cycle, cycle[1:])))
  assert not cycles, ('import cycles between genjax entries (each step as (module, line, '
                      'imported module)):\n  ' + '\n  '.join(lines) + '\n' + _order_message())


def test_the_checker_sees_function_level_and_relative_imports(tmp_path):
  source = ('import genjax.models.conv\n'
            'from ..families import gan\n'
            'def f():\n'
            '  from genjax.evals import parzen\n'
            '  from . import sibling\n')
  path = tmp_path / 'probe.py'
  path.write_text(source)
  found = list(_imports('genjax.models.probe', str(path), is_package=False))
  assert sorted(found) == [(1, 'genjax.models.conv'), (2, 'genjax.families'),
                           (4, 'genjax.evals'), (5, 'genjax.models.sibling')]
