"""``chokepoint --help`` stays quick: building every command's options imports neither pandas nor
plotly (nor the store), and the option lists kept beside the CLI match the library's."""

from __future__ import annotations

import json
import subprocess
import sys

from chokepoint.cli.data import IMPORT_FORMATS, ExportChoice
from chokepoint.dataset.export import ExportFormat
from chokepoint.dataset.importers import IMPORTERS

HEAVY = ("pandas", "plotly", "duckdb", "scipy", "chokepoint.dataset", "chokepoint.leverage", "chokepoint.report")

_PROBE = """
import contextlib, io, json, sys
from chokepoint.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    rc = main(["--help"])
    for group in ("data", "leverage", "leverage compare", "simulate", "overview"):
        rc += main([*group.split(), "--help"])
print(json.dumps({"rc": rc, "help": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def test_help_imports_no_heavy_module() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    probe = json.loads(done.stdout)
    assert probe["rc"] == 0
    assert "overview" in probe["help"]
    assert "Run a scenario month by month" in probe["help"]
    loaded = [m for m in probe["modules"] if m.split(".")[0] in HEAVY or m.startswith(HEAVY)]
    assert loaded == []
    assert "chokepoint.cli.leverage" in probe["modules"]  # the probe did build every group


def test_cli_option_lists_match_the_library() -> None:
    assert tuple(IMPORTERS) == IMPORT_FORMATS
    assert [c.value for c in ExportChoice] == [f.value for f in ExportFormat]
