"""Bundled example data sets, read from CSV files shipped inside the package."""

from __future__ import annotations

from importlib import resources

import pandas as pd

from mixedfx.errors import DataError

# name -> (grouping columns to read as text, one-line description with source)
_CATALOG: dict[str, tuple[tuple[str, ...], str]] = {
    "sleepstudy": (
        ("Subject",),
        "Reaction times (ms) of 18 subjects over 10 days of sleep deprivation "
        "(Belenky et al. 2003; lme4's sleepstudy).",
    ),
    "exercise_mood": (
        ("State",),
        "Simulated survey: weekly exercise hours and mood (1-10) of residents of four "
        "States, the founding article's example.",
    ),
}


def names() -> list[str]:
    """The names of the bundled data sets."""
    return sorted(_CATALOG)


def describe(name: str) -> str:
    """One line on a data set and its source."""
    return _entry(name)[1]


def load(name: str) -> pd.DataFrame:
    """Read a bundled data set; grouping factors with numeric-looking labels stay text."""
    text_columns, _ = _entry(name)
    path = resources.files(__name__).joinpath(f"{name}.csv")
    with resources.as_file(path) as file:
        return pd.read_csv(file, dtype={c: str for c in text_columns})


def _entry(name: str) -> tuple[tuple[str, ...], str]:
    if name not in _CATALOG:
        raise DataError(f"no bundled data set {name!r}; available: {names()}")
    return _CATALOG[name]
