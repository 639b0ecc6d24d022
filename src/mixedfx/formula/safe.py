"""A check that a formula only uses a documented set of transforms.

formulaic evaluates the pieces of a formula as Python expressions, which is what makes
``np.log(x)`` work, and which would also run any code a formula string carries.  The command
line takes formulas from its arguments, so it accepts only column names, numbers, formula
operators and these transforms:
"""

from __future__ import annotations

import io
import tokenize

from mixedfx.errors import FormulaError
from mixedfx.formula.bars import check_parentheses

SAFE_FUNCTIONS = frozenset(
    {"I", "C", "scale", "center", "log", "exp", "sqrt", "abs", "factor", "poly"}
)
SAFE_NUMPY = frozenset({"log", "log1p", "exp", "sqrt", "abs"})
SAFE_OPERATORS = frozenset({"~", "+", "-", "*", "/", ":", "**", "^", "(", ")", "|", "||", ","})


def check_safe_formula(formula: str) -> None:
    """Raise `FormulaError` unless `formula` uses only names, numbers, operators and the
    transforms ``np.log``, ``np.log1p``, ``np.exp``, ``np.sqrt``, ``np.abs``, ``I()``,
    ``C()``, ``scale()``, ``center()`` and R's ``log``, ``exp``, ``sqrt``, ``abs``,
    ``factor()`` and ``poly()``.

    A bare name can only look up a column (unknown ones are reported when the model is
    built); calls, attribute access, subscripts and literals other than numbers are refused.
    """
    check_parentheses(formula)
    tokens = _tokens(formula)
    allowed = ", ".join([*(f"np.{f}" for f in sorted(SAFE_NUMPY)), *sorted(SAFE_FUNCTIONS)])
    i = 0
    while i < len(tokens):
        kind, text, col = tokens[i]
        nxt = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if kind == tokenize.NAME and text == "np":
            function = tokens[i + 2][1] if i + 3 < len(tokens) else ""
            if nxt != "." or function not in SAFE_NUMPY or tokens[i + 3][1] != "(":
                raise FormulaError(
                    f"np.{function} is not an allowed transform ({allowed})", formula, col
                )
            i += 3
            continue
        if kind == tokenize.NAME and nxt == "(" and text not in SAFE_FUNCTIONS:
            raise FormulaError(f"{text}() is not an allowed transform ({allowed})", formula, col)
        if kind == tokenize.OP and text not in SAFE_OPERATORS:
            raise FormulaError(f"{text!r} is not allowed in a formula here", formula, col)
        if kind not in (tokenize.NAME, tokenize.OP, tokenize.NUMBER):
            raise FormulaError(f"{text!r} is not allowed in a formula here", formula, col)
        i += 1


def _tokens(formula: str) -> list[tuple[int, str, int]]:
    skip = {tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT}
    try:
        raw = list(tokenize.generate_tokens(io.StringIO(formula).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError) as exc:
        raise FormulaError(f"cannot read the formula: {exc}") from None
    return [(t.type, t.string, t.start[1]) for t in raw if t.type not in skip]
