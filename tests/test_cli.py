"""The command line: end to end as a user runs it (a subprocess: exit codes, output), and its
other cases through `mixedfx.cli.main` in this process, which reads the same arguments and
prints the same output without paying the interpreter's start-up each time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import mixedfx as mfx
from mixedfx import cli

from conftest import case


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mixedfx", *args], capture_output=True, text=True, timeout=120
    )


def run_here(capfd: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """`run` in this process: the exit status and everything written to stdout and stderr
    (at the file descriptors, so a shell command a formula ran would show too)."""
    status = cli.main(list(args))
    out, err = capfd.readouterr()
    return subprocess.CompletedProcess(list(args), status, out, err)


def test_demo_runs_the_article_analysis(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "lm(formula = Mood ~ Exercise)" in result.stdout
    assert "Formula: Mood ~ Exercise + (1 + Exercise | State)" in result.stdout
    assert "Random intercepts vs random slopes" in result.stdout
    assert str(out.resolve()) in result.stdout
    rmse = case("exercise_mood_rmse")["rmse"]
    assert f"{rmse['lmer_slopes']:.4f}" in result.stdout
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 9
    assert "Residuals by State" in report
    assert len(list(out.glob("*.png"))) == 9
    # the article's next step: one residual SD per State, tested against one for all
    disp = case("exercise_mood_disp_ml")
    assert "One residual SD vs one per State" in result.stdout
    assert "The States' residual variances differ" in result.stdout
    section = result.stdout.split("Residual SD by State with 95% intervals")[1]
    printed = {line.split()[0]: float(line.split()[1]) for line in section.splitlines()[3:7]}
    assert printed == pytest.approx(disp["residual_sd"], rel=1e-5)  # nlme's varIdent fit
    assert "Do the States' residual variances differ?" in report


def test_fit_a_csv(tmp_path: Path) -> None:
    path = tmp_path / "sleep.csv"
    mfx.datasets.load("sleepstudy").to_csv(path, index=False)
    result = run("fit", "Reaction ~ Days + (Days | Subject)", str(path), "--ml")
    assert result.returncode == 0, result.stderr
    assert "fit by maximum likelihood" in result.stdout
    assert "  1763.9   1783.1   -876.0   1751.9      174 " in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fit", "y ~ x + (1 | g)", "no/such/file.csv"), "no such file"),
        (("fit", "Reaction ~ Dayz + (1 | Subject)", "{sleep}"), "['Dayz']"),
        (("fit", "Reaction ~ Days + (1 | Subject", "{sleep}"), "unclosed '('"),
        (("fit", "Reaction ~ Days + (1 | Subject)", "{binary}"), "cannot read"),
    ],
)
def test_errors_are_one_line_without_traceback(tmp_path: Path, capfd, args, message) -> None:
    sleep = tmp_path / "sleep.csv"
    mfx.datasets.load("sleepstudy").to_csv(sleep, index=False)
    binary = tmp_path / "bad.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage\x00")
    argv = [a.format(sleep=sleep, binary=binary) for a in args]
    result = run_here(capfd, *argv)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("mixedfx: error")]
    assert len(lines) == 1 and message in lines[0]


def test_datasets_lists_the_bundled_data() -> None:
    result = run("datasets")
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == mfx.datasets.names()
    assert "Belenky" in next(line for line in result.stdout.splitlines() if "sleepstudy" in line)


def test_fit_json_document(tmp_path: Path, capfd) -> None:
    path = tmp_path / "sleep.csv"
    mfx.datasets.load("sleepstudy").to_csv(path, index=False)
    result = run_here(
        capfd, "fit", "Reaction ~ Days + (Days | Subject)", str(path), "--format", "json"
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["method"] == "REML"
    assert doc["objective"] == pytest.approx(1743.628271959952, abs=1e-4)
    assert doc["fixed_effects"]["names"] == ["(Intercept)", "Days"]
    assert doc["fixed_effects"]["std_error"][1] == pytest.approx(1.545789643905981, rel=2e-3)
    assert doc["varcorr"][-1]["group"] == "Residual"
    assert doc["varcorr"][0]["var2"] is None


def test_fit_markdown(tmp_path: Path, capfd) -> None:
    path = tmp_path / "sleep.csv"
    mfx.datasets.load("sleepstudy").to_csv(path, index=False)
    result = run_here(
        capfd, "fit", "Reaction ~ Days + (Days | Subject)", str(path), "--format", "markdown"
    )
    assert result.returncode == 0, result.stderr
    assert "| 1743.63 |" in result.stdout
    assert "| Days | 10.4673 | 1.54579 | 17 | 6.7714" in result.stdout


@pytest.mark.parametrize(
    "formula",
    [
        "Reaction ~ __import__('os').system('echo hacked') + (1 | Subject)",
        "Reaction ~ np.random.rand(3) + (1 | Subject)",
        "Reaction ~ Days.real + (1 | Subject)",
        "Reaction ~ eval('Days') + (1 | Subject)",
    ],
)
def test_cli_refuses_arbitrary_python(tmp_path: Path, capfd, formula: str) -> None:
    path = tmp_path / "sleep.csv"
    mfx.datasets.load("sleepstudy").to_csv(path, index=False)
    result = run_here(capfd, "fit", formula, str(path))
    assert result.returncode == 2
    assert "hacked" not in result.stdout
    assert result.stderr.startswith("mixedfx: error:") and result.stderr.count("\n") == 1


def test_cli_allows_the_documented_transforms(tmp_path: Path, capfd) -> None:
    path = tmp_path / "sleep.csv"
    mfx.datasets.load("sleepstudy").to_csv(path, index=False)
    result = run_here(
        capfd, "fit", "np.log(Reaction) ~ scale(Days) + I(Days**2) + (1 | Subject)", str(path)
    )
    assert result.returncode == 0, result.stderr
    assert "I(Days^2)" in result.stdout


def test_fit_with_a_dispersion_formula(tmp_path: Path, capfd) -> None:
    """--dispformula, read by its allow-list: nlme's varIdent SDs in the JSON document; code
    in its place is refused before anything runs."""
    ref = case("exercise_mood_disp_ml")
    path = tmp_path / "mood.csv"
    mfx.datasets.load("exercise_mood").to_csv(path, index=False)
    args = ("fit", ref["formula"], str(path), "--ml", "--dispformula", "~ State")
    result = run_here(capfd, *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["dispformula"] == "~ State"
    assert document["residual_sd_by_stratum"] == pytest.approx(ref["residual_sd"], rel=2e-5)
    refused = run_here(capfd, *args[:-1], "~ __import__('os').system('echo pwned')")
    assert refused.returncode == 2
    assert "pwned" not in refused.stdout + refused.stderr.replace("echo pwned", "")
    assert "is not of the form" in refused.stderr
