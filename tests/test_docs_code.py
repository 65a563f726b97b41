"""Every ```python block in README.md and docs/*.md runs (in a temporary folder, own store)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks() -> list[tuple[str, str]]:
    out = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for i, match in enumerate(_BLOCK.finditer(text)):
            line = text[: match.start()].count("\n") + 1
            out.append((f"{doc.relative_to(ROOT)}:{line}#{i}", match.group(1)))
    return out


BLOCKS = _blocks()


def test_the_docs_have_python_blocks_to_run() -> None:
    assert any(name.startswith("README.md") for name, _ in BLOCKS)


@pytest.mark.parametrize(("name", "code"), BLOCKS, ids=[name for name, _ in BLOCKS])
def test_code_block_runs(name: str, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # Blocks may name files in the clone (examples/…) by their path from its root.
    os.symlink(ROOT / "examples", tmp_path / "examples")
    exec(compile(code, name, "exec"), {"__name__": "__docs__"})
