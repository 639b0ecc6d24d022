"""Coefficient names in R's spelling, which lme4 users read and reference results use."""

from __future__ import annotations

import re

_LEVEL = re.compile(r"\[(?:T\.)?([^\]]*)\]")


def r_name(name: str) -> str:
    """Turn formulaic's column name into R's: ``Intercept`` → ``(Intercept)``, ``f[T.b]`` → ``fb``.

    Interactions keep their ``:``: ``x:f[T.b]`` → ``x:fb``; powers read ``I(x^2)``.
    """
    if name == "Intercept":
        return "(Intercept)"
    name = name.replace(" ** ", "^")  # R writes powers as x^2
    return ":".join(_LEVEL.sub(r"\1", part) for part in name.split(":"))
