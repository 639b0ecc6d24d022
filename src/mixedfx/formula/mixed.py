"""Stage 1, parse: a formula string becomes a `MixedFormula`.

lme4's rules, applied to the text before formulaic sees the fixed part:

* ``(1 + x | g)``: one term with correlated intercept and slope;
* ``(1 + x || g)``: one term per column group, uncorrelated (``(1 | g) + (0 + x | g)``);
* ``(1 | a/b)``: nested, ``(1 | a) + (1 | a:b)``, the inner factor labelled ``b:a`` as lme4 does;
* ``(1 | a:b)``: grouping by the interaction of two columns; ``(1 | factor(g))`` groups by g;
* ``offset(expr)``: added to the linear predictor with coefficient 1;
* the left-hand side is arithmetic, as in R: ``Reaction/Days`` divides, ``y - 1`` subtracts;
* ``.`` on the right-hand side: every column of the data that is neither the response nor a
  grouping factor.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from formulaic import Formula
from formulaic.errors import FormulaicError
from formulaic.parser.types import Factor

from mixedfx.errors import FormulaError, MixedFxWarning
from mixedfx.formula.bars import RawBar, as_bar, check_parentheses, rhs_summands
from mixedfx.formula.rsyntax import dot_positions, expression_variables, parsed, r_syntax

# A column name: an R or Python name (dots and non-ASCII letters allowed), or `backticked`.
_NAME = re.compile(r"^(?:\.?[^\W\d][\w.]*|`[^`]+`)$")
# A grouping column as written in R: `g`, `factor(g)` or `as.factor(g)`.
_FACTOR_CALL = re.compile(r"^(?:as\.)?factor\s*\((.*)\)$", re.DOTALL)


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
    written
        The factors as written when that differs from the column names (``("factor(g)",)``);
        None when they are the names.
    """

    expr: str
    factors: tuple[str, ...]
    written: tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        """lme4's name for the grouping factor (``"Subject"``, ``"cask:batch"``)."""
        return ":".join(self.written or self.factors)


@dataclass(frozen=True)
class MixedFormula:
    """A parsed mixed-model formula.

    Attributes
    ----------
    text
        The formula as the user wrote it (with ``.`` expanded).
    response
        The left-hand side (a column name or an arithmetic expression), formulaic's syntax.
    fixed
        The fixed-effects right-hand side in formulaic syntax (``"1"`` when only bars were given).
    random
        The random-effects terms, in the order written (expanded from ``||`` and ``/``).
    offset
        The expressions of the ``offset(...)`` terms, whose sum enters the linear predictor
        with coefficient 1.
    notices
        Warnings to give each time the formula is used (R's, such as a response on the
        right-hand side being dropped).
    """

    text: str
    response: str
    fixed: str
    random: tuple[BarTerm, ...]
    offset: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()

    @property
    def response_term(self) -> str:
        """The response as one formulaic factor: a column name as it stands, an expression
        inside ``I()`` so that its operators are arithmetic (R's reading), not formula syntax."""
        return response_term(self.response)

    @property
    def offset_term(self) -> str | None:
        """The summed offsets as a one-column formula, ``0 + I((o₁) + (o₂))``; None without."""
        if not self.offset:
            return None
        return f"0 + I({' + '.join(f'({e})' for e in self.offset)})"


def response_term(response: str) -> str:
    """`MixedFormula.response_term` of a left-hand side."""
    return response if _NAME.match(response) else f"I({response})"


def parse_formula(formula: str, columns: Iterable[object] | None = None) -> MixedFormula:
    """Parse ``response ~ fixed + (expr | group) + ...`` into a `MixedFormula`.

    Parameters
    ----------
    formula
        The formula text.
    columns
        The data's column names, needed only to expand ``.``.

    Raises
    ------
    FormulaError
        With the position of the problem: no or several ``~``, unbalanced parentheses,
        a bar term without expression or grouping factor, a fixed part formulaic rejects,
        a formula nested too deeply to read.
    """
    if not isinstance(formula, str):
        raise FormulaError(f"the formula must be a string, got {type(formula).__name__}")
    if len(formula) > MAX_LENGTH:
        raise FormulaError(
            f"the formula has {len(formula):,} characters, more than {MAX_LENGTH:,}; compute "
            "long expressions as columns of the data first"
        )
    try:
        text, dots = formula, dot_positions(formula)
        if dots:
            if columns is None:
                raise FormulaError("'.' stands for the data's columns: pass them", formula, dots[0])
            text = _expand_dots(formula, dots, tuple(map(str, columns)))
        mixed = _parse(text)
    except RecursionError:
        raise FormulaError(
            f"the formula ({len(formula)} characters) is nested too deeply to read; "
            "compute long expressions as a column of the data first"
        ) from None
    for notice in mixed.notices:
        warnings.warn(notice, MixedFxWarning, stacklevel=3)
    return mixed


# The longest formula read: formulaic's parse takes time quadratic in the length, so a
# longer one is refused before it is parsed.
MAX_LENGTH = 100_000


@functools.lru_cache(maxsize=512)
def _parse(formula: str) -> MixedFormula:
    """`parse_formula` of a string, made once per text (the result is immutable): analyses
    refit one formula many times, and its parse costs a few percent of a small model's fit."""
    check_parentheses(formula)
    tilde = _single_tilde(formula)
    lhs = formula[:tilde].strip()
    if not lhs:
        raise FormulaError("the formula has no response: write 'y ~ x + (1 | g)'", formula, 0)
    fixed_parts, offsets, random = _read_rhs(formula, tilde + 1)
    response = r_syntax(lhs)
    fixed, notices = _without_response(r_syntax(_join_fixed(fixed_parts)), response, formula)
    mixed = MixedFormula(formula, response, fixed, tuple(random), tuple(offsets), notices)
    if mixed.offset_term is not None:
        _check_part(mixed.offset_term, "the offset", formula, tilde + 1)
    for term in random:
        _check_part(term.expr, "the random-effects term", formula, tilde + 1)
    return mixed


def _read_rhs(formula: str, start: int) -> tuple[list[str], list[str], list[BarTerm]]:
    """The right-hand side's fixed summands, offset expressions and expanded bar terms."""
    fixed_parts: list[str] = []
    offsets: list[str] = []
    random: list[BarTerm] = []
    for summand in rhs_summands(formula, start):
        bar = as_bar(summand, formula)
        offset = _OFFSET.match(summand.text)
        if bar is not None:
            random.extend(_expand(bar, formula))
        elif offset is not None:
            if summand.sign == "-":
                raise FormulaError("an offset cannot be subtracted", formula, summand.start)
            if not offset.group(1).strip():
                raise FormulaError("offset() needs an expression", formula, summand.start)
            offsets.append(r_syntax(offset.group(1)))
        else:
            fixed_parts.append(f"{summand.sign} {summand.text}")
    return fixed_parts, offsets, random


def _without_response(fixed: str, response: str, formula: str) -> tuple[str, tuple[str, ...]]:
    """The fixed part less a term that is the response itself, as R's model.matrix drops it
    (``y ~ y + x``); with R's warning when it does."""
    start = formula.index("~") + 1
    terms = _check_part(fixed, "the fixed-effects part", formula, start)
    lhs = response_term(response)
    factor = _check_part(f"0 + {lhs}", "the response", formula, 0)[0].factors[0]
    same = str(factor.expr) if lhs == response else str(factor.expr)[2:-1]  # inside I()
    for term in terms:
        if len(term.factors) == 1 and str(term.factors[0].expr) == same:
            dropped = f"{fixed} - {_factor_text(term.factors[0])}"
            return dropped, ("the response appeared on the right-hand side and was dropped",)
    return fixed, ()


_OFFSET = re.compile(r"^offset\s*\((.*)\)$", re.DOTALL)


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


def _check_part(part: str, what: str, formula: str, where: int) -> Formula:
    """formulaic's parse of a part of `formula`, its errors as `FormulaError`."""
    try:
        return parsed(part)
    except (FormulaicError, SyntaxError) as exc:
        first_line = str(exc).splitlines()[0]
        shown = part if len(part) <= 80 else f"{part[:60]}…{part[-15:]}"
        raise FormulaError(f"cannot read {what} {shown!r}: {first_line}", formula, where) from None


def _expand_dots(formula: str, dots: list[int], columns: tuple[str, ...]) -> str:
    """`formula` with each ``.`` replaced by the sum of the columns that are neither read by
    the response nor grouping factors (R's ``.`` less the grouping factors, which as fixed
    effects too would make the model degenerate)."""
    skeleton = _parse(_replace(formula, dots, "_dot_"))
    used = set(expression_variables(skeleton.response_term))
    used.update(f for term in skeleton.random for f in term.factors)
    names = [_quoted(c) for c in dict.fromkeys(columns) if c not in used]
    return _replace(formula, dots, f"({' + '.join(names)})" if names else "1")


def _replace(text: str, positions: list[int], by: str) -> str:
    for i in reversed(positions):
        text = text[:i] + by + text[i + 1 :]
    return text


def _quoted(name: str) -> str:
    return name if name.isidentifier() else f"`{name}`"


def _expand(bar: RawBar, formula: str) -> list[BarTerm]:
    """Expand ``/`` in the grouping and ``||`` in the expression into lme4's separate terms."""
    groups = _nested_groups(bar, formula)
    exprs = _uncorrelated_exprs(bar, formula) if bar.double else [r_syntax(bar.lhs)]
    return [BarTerm(expr, factors, written) for factors, written in groups for expr in exprs]


def _nested_groups(
    bar: RawBar, formula: str
) -> list[tuple[tuple[str, ...], tuple[str, ...] | None]]:
    """``a/b/c`` → ``[(a,), (b, a), (c, b, a)]``: lme4's ``a``, ``b:a``, ``c:b:a``; each with
    the factors as written when some is a call such as ``factor(a)``."""
    text = bar.group.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    groups: list[tuple[tuple[str, ...], tuple[str, ...] | None]] = []
    factors: tuple[tuple[str, str], ...] = ()
    for part in text.split("/"):
        factors = tuple(_grouping_column(n, bar, formula) for n in part.split(":")) + factors
        names = tuple(name for name, _ in factors)
        written = tuple(w for _, w in factors)
        groups.append((names, written if written != names else None))
    return groups


def _grouping_column(raw: str, bar: RawBar, formula: str) -> tuple[str, str]:
    """The column a grouping factor reads and the factor as written (``factor(g)``)."""
    written = raw.strip()
    call = _FACTOR_CALL.match(written)
    name = call.group(1).strip() if call else written
    if not _NAME.match(name):
        where = formula.find(written, bar.start) if written else bar.start
        raise FormulaError(
            f"the grouping factor {written!r} is not a column name: group by columns, "
            "optionally as 'a:b' (interaction) or 'a/b' (nested)",
            formula,
            max(where, 0),
        )
    name = name.strip("`")
    return name, written if call else name


def _uncorrelated_exprs(bar: RawBar, formula: str) -> list[str]:
    """``1 + x + z`` → ``["1", "0 + x", "0 + z"]``: one uncorrelated term per formula term."""
    terms = _check_part(r_syntax(bar.lhs), "the random-effects term", formula, bar.start)
    texts = [":".join(_factor_text(f) for f in term.factors) for term in terms]
    return ["1" if t == "1" else f"0 + {t}" for t in texts]


def _factor_text(factor: Factor) -> str:
    """A formulaic factor written back as formula text: a looked-up name quoted if needed."""
    expr = str(factor.expr)
    return _quoted(expr) if factor.eval_method == Factor.EvalMethod.LOOKUP else expr
