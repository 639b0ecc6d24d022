"""Shared loaders: R reference cases (copied from the project's reference set) and their data."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).parent / "data"
CASES = DATA / "cases"


def case(name: str) -> dict:
    """R's results for one reference case."""
    return json.loads((CASES / f"{name}.json").read_text())


def case_frame(ref: dict) -> pd.DataFrame:
    """The case's data as the reference script read it: fixed-effect factors as categoricals
    in R's level order, grouping columns as read (numbers stay numbers)."""
    levels = ref.get("factor_levels") or {}
    local = DATA / ref["data"]
    path = local if local.exists() else resources.files("mixedfx.datasets") / ref["data"]
    with resources.as_file(path) as file:  # type: ignore[arg-type]
        df = pd.read_csv(file, dtype={c: str for c in levels})
    for col, lv in levels.items():
        if col in df:
            df[col] = pd.Categorical(df[col], categories=[str(v) for v in lv])
    return df


def lmer_cases() -> list[str]:
    return sorted(p.stem for p in CASES.glob("*.json") if case(p.stem)["kind"] == "lmer")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261124)
