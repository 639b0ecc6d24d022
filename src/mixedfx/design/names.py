"""Coefficient names in R's spelling, which lme4 users read and reference results use."""

from __future__ import annotations

import re

_LEVEL = re.compile(r"\[(?:T\.)?([^\]]*)\]")


def r_name(name: str) -> str:
    """Turn formulaic's column name into R's: ``Intercept`` → ``(Intercept)``, ``f[T.b]`` → ``fb``.

    Interactions keep their ``:``: ``x:f[T.b]`` → ``x:fb``.
    """
    if name == "Intercept":
        return "(Intercept)"
    return ":".join(_LEVEL.sub(r"\1", part) for part in name.split(":"))
