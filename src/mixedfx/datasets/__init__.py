"""Bundled example data sets, read from CSV files shipped inside the package.

>>> from mixedfx import datasets
>>> datasets.names()  # doctest: +SKIP
>>> sleep = datasets.load("sleepstudy")
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import pandas as pd

from mixedfx.errors import DataError


@dataclass(frozen=True)
class Dataset:
    """A bundled data set.

    Attributes
    ----------
    file
        File name inside the package (CSV, optionally gzip-compressed).
    factors
        Columns that are categorical although their labels may look numeric; read as text.
    description
        One line: what the rows are.
    source
        Where the data come from.
    """

    file: str
    factors: tuple[str, ...]
    description: str
    source: str


CATALOG: dict[str, Dataset] = {
    "exercise_mood": Dataset(
        "exercise_mood.csv",
        ("State",),
        "Weekly exercise hours and mood (1-10) of 55-70 residents in each of four States.",
        "Simulated for mixedfx after the founding article's example.",
    ),
    "sleepstudy": Dataset(
        "sleepstudy.csv",
        ("Subject",),
        "Reaction times (ms) of 18 subjects over 10 days of sleep deprivation.",
        "Belenky et al. (2003), J. Sleep Res. 12; R package lme4.",
    ),
    "Dyestuff": Dataset(
        "Dyestuff.csv",
        ("Batch",),
        "Yield of dyestuff from 5 samples in each of 6 batches of an intermediate product.",
        "Davies and Goldsmith (1972); R package lme4.",
    ),
    "Dyestuff2": Dataset(
        "Dyestuff2.csv",
        ("Batch",),
        "Simulated yields in 6 batches where the batch variance is estimated as zero.",
        "Box and Tiao (1973); R package lme4.",
    ),
    "Penicillin": Dataset(
        "Penicillin.csv",
        ("plate", "sample"),
        "Diameter of growth-inhibition zones: 6 penicillin samples crossed with 24 plates.",
        "Davies and Goldsmith (1972); R package lme4.",
    ),
    "Pastes": Dataset(
        "Pastes.csv",
        ("batch", "cask", "sample"),
        "Strength of paste: 2 samples from each of 3 casks nested in each of 10 batches.",
        "Davies and Goldsmith (1972); R package lme4.",
    ),
    "cake": Dataset(
        "cake.csv",
        ("replicate", "recipe", "temperature"),
        "Breakage angle of chocolate cakes: 3 recipes, 6 temperatures, 15 replicates.",
        "Cook (1938); R package lme4 (temperature as an unordered factor).",
    ),
    "InstEval": Dataset(
        "InstEval.csv.gz",
        ("s", "d", "studage", "lectage", "service", "dept"),
        "73,421 lecture ratings (1-5) by 2,972 students of 1,128 lecturers in 14 departments.",
        "ETH Zurich course evaluations; R package lme4.",
    ),
}


def names() -> list[str]:
    """The names of the bundled data sets, sorted."""
    return sorted(CATALOG, key=str.lower)


def describe(name: str) -> str:
    """One line on a data set and its source."""
    entry = _entry(name)
    return f"{entry.description} Source: {entry.source}"


def load(name: str) -> pd.DataFrame:
    """Read a bundled data set as a new DataFrame.

    Columns listed as factors are read as text, so numeric-looking labels (Subject "308")
    stay labels; fixed-effect factors can be made categorical by the caller to set the
    reference level.

    Raises
    ------
    DataError
        For an unknown name; the message lists the available ones.
    """
    entry = _entry(name)
    path = resources.files(__name__).joinpath(entry.file)
    with resources.as_file(path) as file:
        return pd.read_csv(file, dtype={c: str for c in entry.factors})


def _entry(name: str) -> Dataset:
    if name not in CATALOG:
        raise DataError(f"no bundled data set {name!r}; available: {names()}")
    return CATALOG[name]
