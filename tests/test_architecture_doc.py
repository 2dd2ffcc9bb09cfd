"""docs/architecture.md stays true: every ``path.py:function`` or
``path.py:Class.method`` it names exists in that file under src/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
REFERENCE = re.compile(r"`((?:kith|kith_proto|kith_signal)/[\w/]+\.py):([\w.]+)")


def _names(path: Path) -> set[str]:
    """Top-level functions and classes, and ``Class.member`` for their members."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(f"{node.name}.{member.name}")
    return names


def test_every_file_and_function_the_architecture_names_exists() -> None:
    references = REFERENCE.findall(DOC.read_text())
    assert len(references) >= 20  # the hop-by-hop paths are written down
    missing = []
    for file, name in references:
        path = ROOT / "src" / file
        if not path.exists() or name not in _names(path):
            missing.append(f"{file}:{name}")
    assert missing == []
