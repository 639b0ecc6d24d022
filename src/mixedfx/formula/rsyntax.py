"""R's spellings inside formulas, for formulas written as lme4 users write them.

* ``^`` inside a function call is arithmetic (``I(x^2)`` is x squared); outside calls it stays
  formulaic's interaction power, ``(a + b)^2``.  Python would read ``x^2`` as bitwise xor.
* R functions formulaic does not know by these names: ``factor(x)`` (a categorical, as
  formulaic's ``C``), ``sqrt``, ``abs``, ``log1p``, ``expm1``.
* Names with dots (``days.since``), common in data from R, are column names: Python would
  read them as attribute access, so they are quoted (`` `days.since` ``) unless called
  (``np.log(x)``) or reaching into a module of the evaluation context (``contr.sum``).
"""

from __future__ import annotations

import ast
import functools
import re

import numpy as np
from formulaic import Formula
from formulaic.transforms import TRANSFORMS, C
from formulaic.utils.code import sanitize_variable_names


def cbind(*columns: object) -> np.ndarray:
    """R's ``cbind``: the columns side by side, shape (n, k): a binomial response's successes
    and failures (`mixedfx.data.fixed.response_vector` tells a linear model it is one)."""
    return np.column_stack([np.asarray(c, dtype=float) for c in columns])


R_FUNCTIONS: dict[str, object] = {
    "cbind": cbind,
    "factor": C,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "log1p": np.log1p,
    "expm1": np.expm1,
}


# The names formulas evaluate in: formulaic's transforms (np, log, C, contr, ...) and ours.
CONTEXT_NAMES = frozenset(TRANSFORMS) | frozenset(R_FUNCTIONS)

# An R name (letters, digits, '.', '_'; not starting with a digit or '.digit') or a number.
_WORD = re.compile(r"\.?[^\W\d][\w.]*|\.?\d[\w.]*")


@functools.lru_cache(maxsize=512)
def parsed(text: str) -> Formula:
    """formulaic's parse of `text`, made once per text: a fit reads the same few formula
    strings several times (checks, variables, columns), and a parse costs as much as a
    small model's evaluations together.  Formulas are immutable, so sharing them is safe."""
    return Formula(text)


def r_syntax(text: str) -> str:
    """A formula part written as in R, in formulaic's syntax: dotted names quoted, ``^`` in
    calls as ``**``."""
    return r_arithmetic(quote_dotted_names(text))


def quote_dotted_names(text: str) -> str:
    """Put backticks around names holding a dot that are neither called nor a module's
    attribute; quoted names and string literals are left as they are."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "`'\"":
            end = text.find(ch, i + 1)
            end = len(text) if end < 0 else end + 1
            out.append(text[i:end])
            i = end
            continue
        word = _WORD.match(text, i)
        if word is None or (i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")):
            out.append(ch)
            i += 1
            continue
        name = word.group(0)
        i = word.end()
        called = text[i:].lstrip().startswith("(")
        is_column = "." in name and not name.lstrip(".")[:1].isdigit() and not called
        context = name.split(".", 1)[0] in CONTEXT_NAMES
        out.append(f"`{name}`" if is_column and not context else name)
    return "".join(out)


def dot_positions(text: str) -> list[int]:
    """Positions of R's ``.`` (all other columns) in `text`: a dot that is not part of a
    name or number, outside quotes."""
    masked = _QUOTED.sub(lambda m: "_" * len(m.group(0)), text)
    return [m.start() for m in _DOT.finditer(masked)]


_QUOTED = re.compile(r"`[^`]*`|'[^']*'|\"[^\"]*\"")
_DOT = re.compile(r"(?<![\w.])\.(?![\w.])")


def r_arithmetic(text: str) -> str:
    """Rewrite ``^`` as ``**`` wherever it stands inside a function call's parentheses."""
    out: list[str] = []
    calls: list[bool] = []  # for each open parenthesis: does it belong to a call?
    for i, ch in enumerate(text):
        if ch == "(":
            before = text[:i].rstrip()
            calls.append(bool(before) and (before[-1].isalnum() or before[-1] in "._"))
        elif ch == ")" and calls:
            calls.pop()
        out.append("**" if ch == "^" and any(calls) else ch)
    return "".join(out)


def expression_variables(expression: str) -> list[str]:
    """The data columns a term's Python expression reads (formulaic misses those inside
    stateful transforms such as ``scale(x)``): names that are neither called nor modules."""
    aliases: dict[str, str] = {}  # formulaic's stand-in identifiers for `quoted names`
    text = sanitize_variable_names(expression.strip(), {}, aliases)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return [text]  # not Python: the evaluation will say what is wrong
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    quoted = [  # Q("my column"), formulaic's quoting of awkward names
        c.args[0].value
        for c in calls
        if isinstance(c.func, ast.Name)
        and c.func.id == "Q"
        and c.args
        and isinstance(c.args[0], ast.Constant)
        and isinstance(c.args[0].value, str)
    ]
    called = {id(c.func) for c in calls}
    modules = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names = [
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and id(node) not in called | modules
    ]
    return [aliases.get(n, n) for n in names] + quoted
