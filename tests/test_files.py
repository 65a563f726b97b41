"""Writing outputs: never over what Chokepoint did not write, atomic replacement of its own
folders, temporary entries from killed writers cleaned, ordinary file modes."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chokepoint import __version__
from chokepoint.cli import main
from chokepoint.errors import ChokepointError
from chokepoint.files import (
    MANIFEST,
    STALE_AFTER_S,
    atomic_file,
    atomic_folder,
    check_folder_name,
    check_target,
    file_manifest,
)
from chokepoint.scenario import Scenario


def write(out: Path, files: dict[str, str], kind: str = "run") -> None:
    with atomic_folder(out, kind=kind) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")


def user_folder(path: Path) -> Path:
    """A folder of someone's own files, which no write of ours may remove."""
    path.mkdir(parents=True)
    (path / "thesis.tex").write_text("years of work", encoding="utf-8")
    return path


def fail_inside(out: Path) -> None:
    with atomic_folder(out) as tmp:
        (tmp / "new.csv").write_text("2", encoding="utf-8")
        raise RuntimeError("the simulation failed")


def race(out: Path) -> None:
    with atomic_folder(out) as tmp:
        (tmp / "a.csv").write_text("x", encoding="utf-8")
        user_folder(out)  # someone else creates it while we compute


def age(path: Path, seconds: float) -> None:
    """Make ``path`` (and what is directly in it) look untouched for ``seconds``."""
    then = time.time() - seconds
    for p in [path, *(path.iterdir() if path.is_dir() else [])]:
        os.utime(p, (then, then), follow_symlinks=False)


class TestRefusesForeignFolders:
    def test_a_folder_without_the_manifest_is_left_in_place(self, tmp_path: Path) -> None:
        mine = user_folder(tmp_path / "mine")
        with pytest.raises(ChokepointError) as info:
            write(mine, {"a.csv": "x"})
        message = str(info.value)
        assert message.startswith(f"{mine}: exists and was not written by Chokepoint (no {MANIFEST})")
        assert message.endswith("write elsewhere with --out, or remove the folder yourself")
        assert "\n" not in message
        assert {p.name for p in mine.iterdir()} == {"thesis.tex"}
        assert [p.name for p in tmp_path.iterdir()] == ["mine"]  # no temporary folder either

    def test_refused_before_the_block_runs(self, tmp_path: Path) -> None:
        mine = user_folder(tmp_path / "mine")
        ran = []
        with pytest.raises(ChokepointError), atomic_folder(mine):
            ran.append(True)
        assert not ran  # expensive work inside the block never starts

    def test_a_file_a_link_and_the_root_are_refused(self, tmp_path: Path) -> None:
        (tmp_path / "file").write_text("keep", encoding="utf-8")
        (tmp_path / "link").symlink_to(user_folder(tmp_path / "target"))
        for out, expected in [("file", "is a file"), ("link", "is a symbolic link")]:
            with pytest.raises(ChokepointError, match=expected):
                write(tmp_path / out, {"a.csv": "x"})
        with pytest.raises(ChokepointError, match="is the root folder"):
            check_target(Path("/"))
        assert (tmp_path / "file").read_text(encoding="utf-8") == "keep"
        assert {p.name for p in (tmp_path / "target").iterdir()} == {"thesis.tex"}

    def test_the_current_folder_is_refused(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(user_folder(tmp_path / "work"))
        for out in ("", ".", "sub/.."):
            with pytest.raises(ChokepointError, match=r"not written by Chokepoint|is the current folder"):
                write(Path(out), {"a.csv": "x"})
        assert {p.name for p in Path.cwd().iterdir()} == {"thesis.tex"}


class TestReplacesItsOwnFolders:
    def test_a_rerun_replaces_the_previous_run(self, tmp_path: Path) -> None:
        out = tmp_path / "runs" / "ban"
        write(out, {"old.csv": "1"})
        write(out, {"new.csv": "2"})
        assert {p.name for p in out.iterdir()} == {"new.csv", MANIFEST}
        assert [p.name for p in out.parent.iterdir()] == ["ban"]  # nothing temporary left

    def test_the_manifest_names_kind_version_and_time(self, tmp_path: Path) -> None:
        write(tmp_path / "export", {"a.csv": "x"}, kind="dataset-export")
        manifest = json.loads((tmp_path / "export" / MANIFEST).read_text(encoding="utf-8"))
        assert manifest["written_by"] == "chokepoint"
        assert (manifest["kind"], manifest["version"]) == ("dataset-export", __version__)
        assert manifest["created"].endswith("+00:00")

    def test_an_empty_folder_is_filled(self, tmp_path: Path) -> None:
        (tmp_path / "empty").mkdir()
        write(tmp_path / "empty", {"a.csv": "x"})
        assert (tmp_path / "empty" / "a.csv").read_text(encoding="utf-8") == "x"

    def test_a_failure_inside_leaves_the_previous_run(self, tmp_path: Path) -> None:
        out = tmp_path / "run"
        write(out, {"old.csv": "1"})
        with pytest.raises(RuntimeError, match="the simulation failed"):
            fail_inside(out)
        assert {p.name for p in out.iterdir()} == {"old.csv", MANIFEST}
        assert [p.name for p in tmp_path.iterdir()] == ["run"]

    def test_a_foreign_folder_appearing_during_the_write_is_kept(self, tmp_path: Path) -> None:
        out = tmp_path / "run"
        with pytest.raises(ChokepointError, match="not written by Chokepoint"):
            race(out)
        assert {p.name for p in out.iterdir()} == {"thesis.tex"}

    def test_a_failed_final_rename_puts_the_previous_run_back(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        out = tmp_path / "run"
        write(out, {"old.csv": "1"})
        rename = Path.rename

        def read_only(self: Path, target: str | os.PathLike[str]) -> Path:
            if self.name.endswith(".chokepoint-tmp"):  # the new run moving into place
                raise OSError(errno.EROFS, os.strerror(errno.EROFS))
            return rename(self, target)

        monkeypatch.setattr(Path, "rename", read_only)
        with pytest.raises(ChokepointError, match=r"run: cannot write \(Read-only file system\); choose another --out"):
            write(out, {"new.csv": "2"})
        assert {p.name for p in out.iterdir()} == {"old.csv", MANIFEST}
        assert [p.name for p in tmp_path.iterdir()] == ["run"]


class TestCleansStaleTemporaries:
    def test_entries_a_killed_writer_left_are_removed(self, tmp_path: Path) -> None:
        # a real kill -9 inside the block, as during the final write of a run
        code = (
            "import os, signal, sys\nfrom pathlib import Path\nfrom chokepoint.files import atomic_folder\n"
            "with atomic_folder(Path(sys.argv[1])) as tmp:\n"
            "    (tmp / 'half.csv').write_text('x')\n    os.kill(os.getpid(), signal.SIGKILL)\n"
        )
        runs = tmp_path / "runs"
        done = subprocess.run([sys.executable, "-c", code, str(runs / "ban")], check=False)
        assert done.returncode == -9
        (left,) = runs.iterdir()
        assert left.name.startswith(".ban.")
        assert left.name.endswith(".chokepoint-tmp")
        age(left, STALE_AFTER_S + 60)
        write(runs / "other", {"a.csv": "x"})  # any later write into runs/ cleans it
        assert [p.name for p in runs.iterdir()] == ["other"]

    def test_only_old_entries_of_ours_are_removed(self, tmp_path: Path) -> None:
        entries = {
            ".ban.0badc0de.chokepoint-tmp": True,  # a killed run's folder
            ".ban.0badc0de.chokepoint-old": True,  # a previous run being removed when killed
            ".report.html.0badc0de.chokepoint-tmp.html": True,  # a killed atomic_file
            ".ban.k3x9_q2a": True,  # the unmarked mkdtemp name earlier versions used
            ".ban.old.k3x9_q2a": True,
            ".config": False,  # someone's hidden folder
            ".other.k3x9_q2a": False,  # unmarked, and not our target's name
            "notes.chokepoint-tmp": False,  # not hidden: a user's file
        }
        for name in entries:
            user_folder(tmp_path / name)
            age(tmp_path / name, STALE_AFTER_S + 60)
        fresh = user_folder(tmp_path / ".ban.5eed5eed.chokepoint-tmp")  # a writer still at work
        write(tmp_path / "ban", {"a.csv": "x"})
        kept = {p.name for p in tmp_path.iterdir()}
        assert kept == {n for n, ours in entries.items() if not ours} | {fresh.name, "ban"}

    def test_atomic_file_cleans_too(self, tmp_path: Path) -> None:
        left = tmp_path / ".report.html.0badc0de.chokepoint-tmp.html"
        left.write_text("half", encoding="utf-8")
        age(left, STALE_AFTER_S + 60)
        with atomic_file(tmp_path / "report.html") as tmp:
            tmp.write_text("<html></html>", encoding="utf-8")
        assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


@pytest.fixture
def umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("umask")
class TestModes:
    def test_folders_and_files_follow_the_umask(self, tmp_path: Path) -> None:
        write(tmp_path / "run", {"a.csv": "x"})
        with atomic_file(tmp_path / "report.html") as tmp:
            tmp.write_text("<html></html>", encoding="utf-8")
        mode = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [tmp_path / "run", *tmp_path.glob("*/*")]}
        mode["report.html"] = stat.S_IMODE((tmp_path / "report.html").stat().st_mode)
        assert mode == {"run": 0o755, "a.csv": 0o644, MANIFEST: 0o644, "report.html": 0o644}

    def test_a_stricter_umask_is_respected(self, tmp_path: Path) -> None:
        os.umask(0o077)
        write(tmp_path / "run", {"a.csv": "x"})
        assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o700


class TestScenarioNames:
    @pytest.mark.parametrize("name", ["china-2025-licensing", "CHN-cuts-USA-0.5", "japan_2010", "a"])
    def test_plain_names_are_folder_names(self, name: str) -> None:
        assert check_folder_name(name) == name

    @pytest.mark.parametrize(
        "name", ["", ".", "..", "../x", "/etc", "a/b", "a\\b", "-rf", " x", "x y", "é" * 3, "x" * 101]
    )
    def test_names_that_are_not_one_plain_folder_are_refused(self, name: str) -> None:
        with pytest.raises(ValueError, match="is used as the run folder runs/<name>"):
            Scenario.model_validate({"name": name, "start": "2025-01"})


class TestSingleFiles:
    """A workbook or report written to a path: atomic, and never over a file Chokepoint did not write."""

    def test_a_report_replaces_only_its_own_file(self, tmp_path: Path) -> None:
        out = tmp_path / "report.html"
        for text in ("<html>1</html>", "<html>2</html>"):  # a rerun replaces the file it wrote
            with atomic_file(out, kind="report") as tmp:
                tmp.write_text(text, encoding="utf-8")
        assert out.read_text(encoding="utf-8") == "<html>2</html>"
        manifest = json.loads(file_manifest(out).read_text(encoding="utf-8"))
        assert (manifest["kind"], manifest["file"]) == ("report", "report.html")
        assert sorted(p.name for p in tmp_path.iterdir()) == [".report.html.chokepoint.json", "report.html"]

    @pytest.mark.parametrize("manifest", [False, True], ids=["someone-elses", "edited-since"])
    def test_a_file_chokepoint_did_not_write_is_kept(self, tmp_path: Path, manifest: bool) -> None:
        out = tmp_path / "tables.xlsx"
        if manifest:
            with atomic_file(out, kind="dataset-export") as tmp:
                tmp.write_bytes(b"ours")
        out.write_bytes(b"the user's own workbook")
        refused = pytest.raises(ChokepointError, match=r"tables.xlsx: exists and was not written by Chokepoint")
        with refused, atomic_file(out, kind="dataset-export") as tmp:
            tmp.write_bytes(b"new")
        assert out.read_bytes() == b"the user's own workbook"
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".chokepoint-tmp.xlsx")]

    def test_data_export_xlsx_refuses_a_foreign_file(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        out = tmp_path / "mine.xlsx"
        out.write_bytes(b"not ours")
        code = main(["data", "export", "--format", "xlsx", "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2, err
        assert err.count("\n") == 1, err
        assert out.read_bytes() == b"not ours"
        assert main(["data", "export", "--format", "xlsx", "--out", str(tmp_path / "new.xlsx")]) == 0
        assert main(["data", "export", "--format", "xlsx", "--out", str(tmp_path / "new.xlsx")]) == 0  # its own
