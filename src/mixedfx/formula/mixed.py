"""Stage 1, parse: a formula string becomes a `MixedFormula`.

lme4's rules, applied to the text before formulaic sees the fixed part:

* ``(1 + x | g)``: one term with correlated intercept and slope;
* ``(1 + x || g)``: one term per column group, uncorrelated (``(1 | g) + (0 + x | g)``);
* ``(1 | a/b)``: nested, ``(1 | a) + (1 | a:b)``, the inner factor labelled ``b:a`` as lme4 does;
* ``(1 | a:b)``: grouping by the interaction of two columns.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from formulaic.errors import FormulaicError

from mixedfx.errors import FormulaError
from mixedfx.formula.bars import RawBar, as_bar, check_parentheses, split_summands
from mixedfx.formula.rsyntax import parsed, r_arithmetic

_NAME = re.compile(r"^(?:[A-Za-z_.][A-Za-z0-9_.]*|`[^`]+`)$")


@dataclass(frozen=True)
class BarTerm:
    """One random-effects term after expansion.

    Attributes
    ----------
    expr
        The model formula (formulaic syntax) of the term's columns, e.g. ``"1 + Days"``.
    factors
        The data columns whose interaction is the grouping factor, in lme4's order: as
        written for ``a:b``, innermost first for nested ``a/b`` (``("cask", "batch")``).
    """

    expr: str
    factors: tuple[str, ...]

    @property
    def label(self) -> str:
        """lme4's name for the grouping factor (``"Subject"``, ``"cask:batch"``)."""
        return ":".join(self.factors)


@dataclass(frozen=True)
class MixedFormula:
    """A parsed mixed-model formula.

    Attributes
    ----------
    text
        The formula as the user wrote it.
    response
        The left-hand side (a column name or a formulaic expression).
    fixed
        The fixed-effects right-hand side in formulaic syntax (``"1"`` when only bars were given).
    random
        The random-effects terms, in the order written (expanded from ``||`` and ``/``).
    """

    text: str
    response: str
    fixed: str
    random: tuple[BarTerm, ...]


def parse_formula(formula: str) -> MixedFormula:
    """Parse ``response ~ fixed + (expr | group) + ...`` into a `MixedFormula`.

    Raises
    ------
    FormulaError
        With the position of the problem: no or several ``~``, unbalanced parentheses,
        a bar term without expression or grouping factor, a fixed part formulaic rejects.
    """
    if not isinstance(formula, str):
        raise FormulaError(f"the formula must be a string, got {type(formula).__name__}")
    return _parse(formula)


@functools.lru_cache(maxsize=512)
def _parse(formula: str) -> MixedFormula:
    """`parse_formula` of a string, made once per text (the result is immutable): analyses
    refit one formula many times, and its parse costs a few percent of a small model's fit."""
    check_parentheses(formula)
    tilde = _single_tilde(formula)
    response = formula[:tilde].strip()
    if not response:
        raise FormulaError("the formula has no response: write 'y ~ x + (1 | g)'", formula, 0)
    rhs_start = tilde + 1
    summands = split_summands(formula[rhs_start:], rhs_start)
    fixed_parts: list[str] = []
    random: list[BarTerm] = []
    for summand in summands:
        bar = as_bar(summand, formula)
        if bar is None:
            fixed_parts.append(f"{summand.sign} {summand.text}")
        else:
            random.extend(_expand(bar, formula))
    fixed = r_arithmetic(_join_fixed(fixed_parts))
    _check_fixed(fixed, formula, rhs_start)
    return MixedFormula(formula, r_arithmetic(response), fixed, tuple(random))


def _single_tilde(formula: str) -> int:
    positions = [i for i, ch in enumerate(formula) if ch == "~"]
    if not positions:
        raise FormulaError("the formula has no '~': write 'response ~ predictors'", formula, 0)
    if len(positions) > 1:
        raise FormulaError("the formula has more than one '~'", formula, positions[1])
    return positions[0]


def _join_fixed(parts: list[str]) -> str:
    if not parts:
        return "1"
    text = " ".join(parts).strip()
    return text[1:].strip() if text.startswith("+") else text


def _check_fixed(fixed: str, formula: str, where: int) -> None:
    try:
        parsed(fixed)
    except FormulaicError as exc:
        first_line = str(exc).splitlines()[0]
        raise FormulaError(
            f"cannot read the fixed-effects part {fixed!r}: {first_line}", formula, where
        ) from None


def _expand(bar: RawBar, formula: str) -> list[BarTerm]:
    """Expand ``/`` in the grouping and ``||`` in the expression into lme4's separate terms."""
    groups = _nested_groups(bar, formula)
    exprs = _uncorrelated_exprs(bar, formula) if bar.double else [r_arithmetic(bar.lhs)]
    return [BarTerm(expr, factors) for factors in groups for expr in exprs]


def _nested_groups(bar: RawBar, formula: str) -> list[tuple[str, ...]]:
    """``a/b/c`` → ``[(a,), (b, a), (c, b, a)]``: lme4's ``a``, ``b:a``, ``c:b:a``."""
    text = bar.group.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    groups: list[tuple[str, ...]] = []
    factors: tuple[str, ...] = ()
    for part in text.split("/"):
        factors = tuple(_column_name(n, bar, formula) for n in part.split(":")) + factors
        groups.append(factors)
    return groups


def _column_name(raw: str, bar: RawBar, formula: str) -> str:
    name = raw.strip()
    if not _NAME.match(name):
        where = formula.find(name, bar.start) if name else bar.start
        raise FormulaError(
            f"the grouping factor {name!r} is not a column name: group by columns, "
            "optionally as 'a:b' (interaction) or 'a/b' (nested)",
            formula,
            max(where, 0),
        )
    return name.strip("`")


def _uncorrelated_exprs(bar: RawBar, formula: str) -> list[str]:
    """``1 + x + z`` → ``["1", "0 + x", "0 + z"]``: one uncorrelated term per formula term."""
    try:
        terms = [str(t) for t in parsed(bar.lhs)]
    except FormulaicError as exc:
        raise FormulaError(
            f"cannot read {bar.lhs!r}: {str(exc).splitlines()[0]}", formula, bar.start
        ) from None
    return ["1" if t == "1" else f"0 + {r_arithmetic(t)}" for t in terms]
