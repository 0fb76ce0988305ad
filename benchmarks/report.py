"""Where every benchmark's --out JSON goes: one writer, so the files read alike."""

from __future__ import annotations

import json
import os
from typing import Any, Mapping


def write_json(path: str, result: Mapping[str, Any]) -> None:
  """Writes `result` to `path` (making its folder); values JSON lacks are written as str."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path, 'w') as f:
    json.dump(result, f, indent=2, default=str)
  print(f'wrote {path}')
