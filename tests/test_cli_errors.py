"""Every way a command line can go wrong ends as one line on stderr and a non-zero status.

Most cases run `mixedfx.cli.main` in this process (an uncaught exception would fail the
test, as a traceback would show); those about processes (a closed pipe, Ctrl-C, the module
entry point) run the command as a user does.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import mixedfx as mfx
from mixedfx import cli
from mixedfx.models import lmm

SLEEP = "Reaction ~ Days + (Days | Subject)"


def write_files(folder: Path) -> dict[str, str]:
    """The files the cases name, by placeholder."""
    sleep = mfx.datasets.load("sleepstudy")
    files = {
        "sleep": sleep,
        "missing_y": sleep.assign(Reaction=np.nan),
        "text_y": sleep.assign(Reaction=[f"r{i}" for i in range(len(sleep))]),
        "one_level": sleep.assign(one="a"),
        "row_ids": sleep.assign(row=np.arange(len(sleep))),
        "pairs": sleep.assign(pair=np.arange(len(sleep)) // 2, d2=sleep["Days"] ** 2),
    }
    paths = {}
    for name, frame in files.items():
        paths[name] = str(folder / f"{name}.csv")
        frame.to_csv(paths[name], index=False)
    raw = {
        "empty": b"",
        "header_only": b"Reaction,Days,Subject\n",
        "binary": b"\xff\xfe\x00\x81garbage\x00\x93",
        "prose": b"Dear reader,\nthis is not a table; it is a letter.\n",
        "ragged": b"a,b\n1,2\n3,4,5,6\n",
        "latin1": "Reaction,Days,Subject\n1,2,Gr\xf6\xdfe\n".encode("latin-1"),
        "fake_parquet": b"PAR1 not really parquet",
    }
    for name, content in raw.items():
        suffix = ".parquet" if name == "fake_parquet" else ".csv"
        paths[name] = str(folder / f"{name}{suffix}")
        Path(paths[name]).write_bytes(content)
    paths["dir"] = str(folder)
    paths["nowhere"] = str(folder / "no" / "such.csv")
    blocker = folder / "a_file"
    blocker.write_text("x")
    paths["file_as_dir"] = str(blocker / "out")
    return paths


CASES = [
    # (argv, status, part of the message)
    (["fit", SLEEP, "{nowhere}"], 2, "no such file"),
    (["fit", SLEEP, "{dir}"], 2, "is a directory"),
    (["fit", SLEEP, "{empty}"], 2, "cannot read"),
    (["fit", SLEEP, "{header_only}"], 2, "the data have no rows"),
    (["fit", SLEEP, "{binary}"], 2, "cannot read"),
    (["fit", SLEEP, "{prose}"], 2, "not in the data"),
    (["fit", SLEEP, "{ragged}"], 2, "cannot read"),
    (["fit", SLEEP, "{latin1}"], 2, "cannot read"),
    (["fit", SLEEP, "{fake_parquet}"], 2, "pip install pyarrow"),
    (["fit", "Reaction ~ Days + (1 | Subject", "{sleep}"], 2, "unclosed '('"),
    (["fit", "Reaction ~ Days) + (1 | Subject)", "{sleep}"], 2, "unmatched ')'"),
    (["fit", "Reaction Days + (1 | Subject)", "{sleep}"], 2, "no '~'"),
    (["fit", "Reaction ~ Days ~ 1 + (1 | Subject)", "{sleep}"], 2, "more than one '~'"),
    (["fit", "~ Days + (1 | Subject)", "{sleep}"], 2, "no response"),
    (["fit", "", "{sleep}"], 2, "no '~'"),
    (["fit", "Reaction ~ Days + (1 | )", "{sleep}"], 2, "grouping factor"),
    (["fit", "Reaction ~ Days + ( | Subject)", "{sleep}"], 2, "expression before"),
    (["fit", "Reaction ~ Days + (1 | log(Subject))", "{sleep}"], 2, "not a column name"),
    (["fit", "Reaction ~ Days + + * (1 | Subject)", "{sleep}"], 2, "cannot read"),
    (["fit", "Reaction ~ Dayz + (1 | Subject)", "{sleep}"], 2, "['Dayz']"),
    (["fit", "Reaction ~ Days + (1 | Subjekt)", "{sleep}"], 2, "['Subjekt']"),
    (["fit", "Reaction ~ I(Dayz^2) + (1 | Subject)", "{sleep}"], 2, "'Dayz' is not a column"),
    (["fit", "Reaction ~ Days + (1 | Subject)", "{missing_y}"], 2, "no rows left"),
    (["fit", "Reaction ~ Days + (1 | Subject)", "{text_y}"], 2, "must be numeric"),
    (["fit", "Reaction ~ Days + (1 | one)", "{one_level}"], 2, "only 1 level"),
    (["fit", "Reaction ~ Days + (1 | row)", "{row_ids}"], 2, "180 levels for 180"),
    (["fit", "Reaction ~ Days + (1 + Days + d2 | pair)", "{pairs}"], 2, "unidentifiable"),
    (["fit", "Reaction ~ Days + I((eval)((input)())) + (1|Subject)", "{sleep}"], 2, "eval"),
    (["fit", "Reaction ~ I(Days.real) + (1 | Subject)", "{sleep}"], 2, "not a column"),
    (["fit", "Reaction ~ np.random.rand(3) + (1 | Subject)", "{sleep}"], 2, "np.random.rand"),
    (["fit", "Reaction ~ __import__('os').system('ls') + (1|Subject)", "{sleep}"], 2, "read"),
    (["fit", "Reaction ~ Days + (1 | Subject)", "{sleep}", "--bogus"], 2, "--bogus"),
    (["fit", "Reaction ~ Days + (1 | Subject)", "{sleep}", "--format", "xml"], 2, "'xml'"),
    (["fit", "Reaction ~ Days + (1 | Subject)"], 2, "required: data"),
    (["fit"], 2, "required: formula, data"),
    ([], 2, "required: COMMAND"),
    (["frobnicate"], 2, "invalid choice: 'frobnicate'"),
    (["datasets", "extra"], 2, "unrecognized arguments: extra"),
    (["--version", "extra"], 0, None),
    (["demo", "--out", "{file_as_dir}"], 2, "a_file"),
]


def run_main(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as exit_:  # argparse's own exits (--help, --version, usage errors)
        return int(exit_.code or 0)


@pytest.mark.parametrize(("argv", "status", "message"), CASES, ids=lambda c: str(c)[:60])
def test_a_bad_command_line_is_one_line_and_a_status(tmp_path, capsys, argv, status, message):
    paths = write_files(tmp_path)
    assert run_main([a.format(**paths) for a in argv]) == status
    err = capsys.readouterr().err
    if message is None:
        return
    assert err.count("\n") == 1 and err.startswith("mixedfx: error: "), err
    assert message in err, err
    assert len(err) <= cli.LINE_LIMIT + len("mixedfx: error: \n")


def test_an_unexpected_exception_is_one_line_asking_for_a_report(monkeypatch, capsys, tmp_path):
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("float division by zero\nsecond line")

    monkeypatch.setattr(lmm, "lmer", broken)
    path = write_files(tmp_path)["sleep"]
    assert cli.main(["fit", SLEEP, path]) == cli.BUG
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("mixedfx: error: unexpected ZeroDivisionError: float division by zero")
    assert "please report it" in err


def test_a_very_long_message_is_cut_to_one_bounded_line(monkeypatch, capsys, tmp_path):
    def verbose(*args: object, **kwargs: object) -> None:
        raise mfx.DataError("x" * 10**6)

    monkeypatch.setattr(lmm, "lmer", verbose)
    assert cli.main(["fit", SLEEP, write_files(tmp_path)["sleep"]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) == len("mixedfx: error: ") + cli.LINE_LIMIT + 1


def test_ctrl_c_during_a_command_is_one_line_and_status_130(monkeypatch, capsys, tmp_path):
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(lmm, "lmer", interrupted)
    assert cli.main(["fit", SLEEP, write_files(tmp_path)["sleep"]]) == 130
    assert capsys.readouterr().err == "mixedfx: interrupted\n"


def test_user_warnings_show_and_developer_warnings_do_not(monkeypatch, capsys, tmp_path):
    """A file an interrupted import left open (ResourceWarning) or a library's deprecation
    notice is for developers, hidden as Python hides it; a warning about the fit is shown."""

    def warns(*args: object, **kwargs: object) -> None:
        warnings.warn("an unclosed file", ResourceWarning, stacklevel=1)
        warnings.warn("an old keyword", DeprecationWarning, stacklevel=1)
        warnings.warn("the fit is singular", UserWarning, stacklevel=1)
        raise KeyboardInterrupt

    monkeypatch.setattr(lmm, "lmer", warns)
    assert cli.main(["fit", SLEEP, write_files(tmp_path)["sleep"]]) == 130
    err = capsys.readouterr().err
    assert err == "mixedfx: warning: the fit is singular\nmixedfx: interrupted\n"


def test_version(capsys) -> None:
    assert run_main(["--version"]) == 0
    assert capsys.readouterr().out == f"mixedfx {mfx.__version__}\n"


def test_parquet_without_pyarrow_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    """Even where pyarrow is installed: its import is made to fail as on a bare install."""
    path = tmp_path / "data.parquet"
    path.write_bytes(b"PAR1")
    for engine in ("pyarrow", "fastparquet"):
        monkeypatch.setitem(sys.modules, engine, None)
    assert cli.main(["fit", SLEEP, str(path)]) == 2
    assert "install it with 'pip install pyarrow'" in capsys.readouterr().err


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mixedfx", *args]


def test_output_into_a_closed_pipe_ends_quietly(tmp_path) -> None:
    """As ``mixedfx fit … | head`` when head has left: no 'Broken pipe' message."""
    path = write_files(tmp_path)["sleep"]
    proc = subprocess.Popen(
        command("fit", SLEEP, path), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader leaves before the fit prints anything
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert err == ""
    assert proc.returncode == cli.CUT_SHORT


def test_ctrl_c_in_a_running_demo_is_one_line(tmp_path) -> None:
    """SIGINT while the demo computes (after start-up, which prints 'ready')."""
    script = (
        "import sys; from mixedfx import cli; print('ready', file=sys.stderr, flush=True); "
        f"sys.exit(cli.main(['demo', '--out', {str(tmp_path / 'demo')!r}]))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    assert proc.stderr is not None
    assert proc.stderr.readline() == b"ready\n"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 130
    assert rest == "mixedfx: interrupted\n"
