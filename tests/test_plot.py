"""Figures: what is drawn (points, lines, labels) matches the fits, and they render to PNG."""

from __future__ import annotations

import subprocess
import sys
from io import BytesIO

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedfx as mfx

matplotlib.use("Agg")
from matplotlib.figure import Figure

from mixedfx import plot


@pytest.fixture(scope="module")
def mood() -> pd.DataFrame:
    return mfx.datasets.load("exercise_mood")


@pytest.fixture(scope="module")
def fits(mood):
    return (
        mfx.lm("Mood ~ Exercise", mood),
        mfx.lm_list("Mood ~ Exercise | State", mood),
        mfx.lmer("Mood ~ Exercise + (1 + Exercise | State)", mood, reml=False),
    )


def rendered(figure: Figure) -> Figure:
    buffer = BytesIO()
    figure.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    return figure


def test_import_mixedfx_does_not_import_matplotlib() -> None:
    code = "import mixedfx, sys; assert 'matplotlib' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_fitted_line(fits, mood) -> None:
    lm1, _, _ = fits
    ax = rendered(plot.fitted_line(lm1)).axes[0]
    assert len(ax.collections[0].get_offsets()) == lm1.nobs
    line = ax.lines[0]
    x, y = line.get_xdata(), line.get_ydata()
    np.testing.assert_allclose(y, lm1.coef["(Intercept)"] + lm1.coef["Exercise"] * x, rtol=1e-10)
    assert ax.get_xlabel() == "Exercise" and ax.get_ylabel() == "Mood"


def test_residual_plots(fits, mood) -> None:
    lm1, _, mixed = fits
    ax = rendered(plot.residuals_vs_fitted(lm1)).axes[0]
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1], lm1.residuals)
    ax = rendered(plot.residuals_by_group(lm1, "State", data=mood)).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A", "B", "C", "D"]
    assert ax.get_xlabel() == "State"
    ax = rendered(plot.qq_residuals(mixed)).axes[0]
    points = ax.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 1], np.sort(mixed.residuals / mixed.sigma))
    n = mixed.nobs
    np.testing.assert_allclose(points[:, 0], stats.norm.ppf((np.arange(1, n + 1) - 0.5) / n))
    with pytest.raises(ValueError, match="data="):
        plot.residuals_by_group(lm1, "State")


def test_group_lines(fits) -> None:
    _, per_state, _ = fits
    ax = rendered(plot.group_lines(per_state)).axes[0]
    assert len(ax.lines) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [f"State {s}" for s in "ABCD"]
    for line, fit in zip(ax.lines, per_state.fits.values()):
        x = line.get_xdata()
        np.testing.assert_allclose(line.get_ydata(), fit.coef.iloc[0] + fit.coef.iloc[1] * x)


def test_shrinkage(fits) -> None:
    lm1, per_state, mixed = fits
    figure = rendered(plot.shrinkage(lm1, per_state, mixed))
    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == [f"State {s}" for s in "ABCD"]
    for ax, state in zip(panels, "ABCD"):
        pooled, own, mix = ax.lines
        x = mix.get_xdata()
        coef = mixed.coef["State"].loc[state]
        np.testing.assert_allclose(mix.get_ydata(), coef["(Intercept)"] + coef["Exercise"] * x)
        np.testing.assert_allclose(pooled.get_ydata(), lm1.predict(pd.DataFrame({"Exercise": x})))
        own_fit = per_state.fits[state]
        np.testing.assert_allclose(own.get_ydata(), own_fit.predict(pd.DataFrame({"Exercise": x})))


def test_caterpillar() -> None:
    fit = mfx.lmer("Reaction ~ Days + (Days | Subject)", mfx.datasets.load("sleepstudy"))
    figure = rendered(plot.caterpillar(fit))
    assert [ax.get_title() for ax in figure.axes] == ["(Intercept)", "Days"]
    for ax, column in zip(figure.axes, ["(Intercept)", "Days"]):
        container = ax.containers[0]
        points = container.lines[0].get_xdata()
        assert len(points) == 18
        np.testing.assert_allclose(points, np.sort(fit.ranef["Subject"][column].to_numpy()))
        segments = container.lines[2][0].get_segments()
        half = np.array([(s[1][0] - s[0][0]) / 2 for s in segments])
        order = np.argsort(fit.ranef["Subject"][column].to_numpy())
        expected = 1.959964 * fit.ranef_se["Subject"][column].to_numpy()[order]
        np.testing.assert_allclose(half, expected, rtol=1e-6)


def test_draws_into_given_axes(fits) -> None:
    lm1, _, _ = fits
    figure = Figure()
    left, right = figure.subplots(1, 2)
    assert plot.fitted_line(lm1, ax=left) is figure
    assert plot.residuals_vs_fitted(lm1, ax=right) is figure
    assert len(left.lines) == 1 and len(right.collections) == 1


def test_zeta_plot() -> None:
    fit = mfx.lmer("Yield ~ 1 + (1 | Batch)", mfx.datasets.load("Dyestuff"))
    profiles = fit.profile()
    figure = rendered(plot.zeta(profiles))
    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_xlabel() for ax in panels] == list(profiles)
    for ax, p in zip(panels, profiles.values()):
        np.testing.assert_allclose(ax.lines[0].get_ydata(), p.zeta)
        assert np.all(np.diff(p.zeta) > 0)  # ζ increases through the estimate
