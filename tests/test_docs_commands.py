"""Every ``chokepoint …`` command in the README's and docs' shell blocks runs as written.

Each block runs in order in a fresh folder with its own store, as a new user would type it: the
example scenarios are where the README says, a downloaded USGS file sits in the folder under the
name the README uses (taken from the reference data beside the clone), and the pathway files the
docs tell the reader to copy exist as copies of a shipped pathway.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from chokepoint.cli import main

ROOT = Path(__file__).resolve().parents[1]
_BLOCK = re.compile(r"^```(?:bash|console|sh)\n(.*?)^```", re.MULTILINE | re.DOTALL)
#: Files the docs' commands name that a reader brings: name → path under the reference folder.
BROUGHT = {"MCS2026_Commodities_Data.csv": "usgs_mcs/MCS2026_Commodities_Data.csv"}
#: Pathway files the docs tell the reader to copy from a shipped one and edit.
COPIED = {"my-pathway.yaml": "calibrated-engagement.yaml", "my-engagement.yaml": "calibrated-engagement.yaml"}


def _commands(text: str) -> list[str]:
    """The ``chokepoint`` lines of a shell block, comments dropped (``.venv/bin/`` prefixes kept off)."""
    out = []
    for line in text.splitlines():
        line = line.split(" # ")[0].split("   #")[0].strip()
        for part in line.split("&&"):
            part = part.strip().removeprefix(".venv/bin/")
            if part.startswith("chokepoint "):
                out.append(part)
    return out


def _blocks() -> list[tuple[str, list[str]]]:
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            commands = _commands(match.group(1))
            if commands:
                line = text[: match.start()].count("\n") + 1
                found.append((f"{doc.relative_to(ROOT)}:{line}", commands))
    return found


BLOCKS = _blocks()


def test_the_readme_has_commands_to_run() -> None:
    assert any(name.startswith("README.md") and len(cmds) > 10 for name, cmds in BLOCKS)


@pytest.mark.parametrize(("name", "commands"), BLOCKS, ids=[name for name, _ in BLOCKS])
def test_documented_commands_run(
    name: str,
    commands: list[str],
    tmp_path: Path,
    reference: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    os.symlink(ROOT / "examples", tmp_path / "examples")
    for file, where in BROUGHT.items():
        os.symlink(reference / where, tmp_path / file)
    for file, shipped in COPIED.items():
        shutil.copy(ROOT / "src" / "chokepoint" / "pathways" / shipped, tmp_path / file)
    for command in commands:
        code = main(shlex.split(command)[1:])
        out, err = capsys.readouterr()
        assert code == 0, f"{name}: `{command}` exited {code}: {err.strip()[-300:]}"
        assert "Traceback" not in out + err
