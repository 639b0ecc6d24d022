"""R's spellings inside formulas, for formulas written as lme4 users write them.

* ``^`` inside a function call is arithmetic (``I(x^2)`` is x squared); outside calls it stays
  formulaic's interaction power, ``(a + b)^2``.  Python would read ``x^2`` as bitwise xor.
* R functions formulaic does not know by these names: ``factor(x)`` (a categorical, as
  formulaic's ``C``), ``sqrt``, ``abs``, ``log1p``, ``expm1``.
"""

from __future__ import annotations

import ast
import functools

import numpy as np
from formulaic import Formula
from formulaic.transforms import C

R_FUNCTIONS: dict[str, object] = {
    "factor": C,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "log1p": np.log1p,
    "expm1": np.expm1,
}


@functools.lru_cache(maxsize=512)
def parsed(text: str) -> Formula:
    """formulaic's parse of `text`, made once per text: a fit reads the same few formula
    strings several times (checks, variables, columns), and each parse costs about 0.1 ms,
    a tenth of a small model's whole fit.  Formulas are immutable, so sharing them is safe."""
    return Formula(text)


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
    text = expression.strip()
    if text.startswith("`") and text.endswith("`"):
        return [text[1:-1]]  # a quoted column name: `my column`
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return [text]  # not Python: a column name formulaic has unquoted, such as `a b`
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
    return names + quoted
