"""Splitting a right-hand side into fixed terms and bar terms (lme4's findbars/nobars).

The scan works on the formula text: bar terms are the top-level parenthesised summands that
hold a `|` or `||` at their own top level, also inside redundant parentheses (``((1 | g))``,
``((1 | g) + (1 | h))``).  A right-hand side with a bar outside any parentheses is, by R's
operator precedence, one bar term: ``y ~ x | g`` is ``y ~ (x | g)``.  Everything else is the
fixed part, handed to formulaic unchanged.  Positions are kept so errors can point at the
offending character.
"""

from __future__ import annotations

from dataclasses import dataclass

from mixedfx.errors import FormulaError


@dataclass(frozen=True)
class Summand:
    """One top-level summand of a right-hand side.

    Attributes
    ----------
    sign
        ``"+"`` or ``"-"``: the operator in front of the summand.
    text
        The summand without its operator, stripped.
    start
        Index of `text` in the whole formula (for error carets).
    """

    sign: str
    text: str
    start: int


@dataclass(frozen=True)
class RawBar:
    """A bar term as written: ``(lhs | group)`` or ``(lhs || group)``."""

    lhs: str
    group: str
    double: bool
    start: int


def check_parentheses(formula: str) -> None:
    """Raise `FormulaError` at the first unbalanced parenthesis of `formula`."""
    depth = 0
    opened: list[int] = []
    for i, ch in enumerate(formula):
        if ch == "(":
            depth += 1
            opened.append(i)
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise FormulaError("unmatched ')': remove it or add the '(' it closes", formula, i)
            opened.pop()
    if depth > 0:
        raise FormulaError("unclosed '(': add the ')' that closes it", formula, opened[-1])


def split_summands(text: str, offset: int) -> list[Summand]:
    """Split `text` at its top-level ``+`` and ``-`` operators.

    Parameters
    ----------
    text
        A right-hand side, parentheses already known to balance.
    offset
        Index of `text` in the whole formula.
    """
    pieces: list[Summand] = []
    depth, sign, start = 0, "+", 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch in "+-" and depth == 0 and not _inside_number(text, i):
            _append(pieces, sign, text, start, i, offset)
            sign, start = ch, i + 1
    _append(pieces, sign, text, start, len(text), offset)
    return pieces


def rhs_summands(formula: str, start: int) -> list[Summand]:
    """The summands of the right-hand side ``formula[start:]``, redundant parentheses around
    bar terms opened, and an unparenthesised ``x | g`` read as ``(x | g)`` (R's precedence:
    ``|`` binds more loosely than ``+``)."""
    text = formula[start:]
    if _top_level_bar(text) is not None:
        lead = len(text) - len(text.lstrip())
        return [Summand("+", f"({text.strip()})", start + lead - 1)]
    return [piece for s in split_summands(text, start) for piece in _opened(s, formula)]


def _opened(summand: Summand, formula: str) -> list[Summand]:
    """`summand`, or the summands inside its parentheses when they hold a bar term."""
    text = summand.text
    if not _enclosed(text) or _top_level_bar(text[1:-1]) is not None:
        return [summand]
    inner = [p for s in split_summands(text[1:-1], summand.start + 1) for p in _opened(s, formula)]
    if not any(_is_bar(p.text) for p in inner):
        return [summand]
    if summand.sign == "-":
        raise FormulaError("a random-effects term cannot be subtracted", formula, summand.start)
    return inner


def _enclosed(text: str) -> bool:
    """True when `text` is one parenthesised group, ``( ... )``."""
    return text.startswith("(") and _closing(text) == len(text) - 1


def _is_bar(text: str) -> bool:
    return _enclosed(text) and _top_level_bar(text[1:-1]) is not None


def _inside_number(text: str, i: int) -> bool:
    """True when the sign at `i` is an exponent sign, as in ``1e-3``."""
    head = text[:i].rstrip()
    return len(head) >= 2 and head[-1] in "eE" and head[-2].isdigit() and head == text[:i]


def _append(
    pieces: list[Summand], sign: str, text: str, start: int, stop: int, offset: int
) -> None:
    raw = text[start:stop]
    stripped = raw.strip()
    if stripped:
        lead = len(raw) - len(raw.lstrip())
        pieces.append(Summand(sign, stripped, offset + start + lead))


def as_bar(summand: Summand, formula: str) -> RawBar | None:
    """Return the bar term a summand writes, or None when it is a fixed-effects summand."""
    inner = summand.text[1:-1]
    bar = _top_level_bar(inner) if _enclosed(summand.text) else None
    if bar is None:
        return None
    double = inner[bar : bar + 2] == "||"
    lhs = inner[:bar].strip()
    group = inner[bar + (2 if double else 1) :].strip()
    where = summand.start + 1 + bar
    if summand.sign == "-":
        raise FormulaError("a random-effects term cannot be subtracted", formula, summand.start)
    if not lhs:
        raise FormulaError(
            "a bar term needs an expression before '|': write (1 | g) for a random intercept",
            formula,
            where,
        )
    if not group:
        raise FormulaError(
            "a bar term needs a grouping factor after '|', as in (1 | Subject)", formula, where
        )
    if "|" in lhs:
        raise FormulaError(
            "a bar term's expression cannot hold another bar: write (x | g) + (1 | h)",
            formula,
            where,
        )
    return RawBar(lhs, group, double, summand.start)


def _closing(text: str) -> int:
    """Index of the parenthesis that closes the one at index 0."""
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return i
    return -1


def _top_level_bar(inner: str) -> int | None:
    depth = 0
    for i, ch in enumerate(inner):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return i
    return None
