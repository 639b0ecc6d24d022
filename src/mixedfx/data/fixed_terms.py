"""The fixed part's terms and its over-parameterized coding, from the encodings alone.

F tests per term need, for each term, which columns of X it owns and which of its variables
are factors (lmerTest's containment rules), and for type III the full dummy coding of the
same model (SAS's estimable functions).  Both follow from formulaic's encoding (the spec)
and from X's column expansion, never from the rows: the dummy coding X_full is a linear
function of the treatment coding X_all, X_full = X_all T, the same T on any data, so T is
solved on a grid made from the encodings (every level of each factor, numeric variables
drawn at random) and X_full = X E T on the fitted rows (`FixedDesign.expand` = E).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulaic import ModelSpec
from formulaic.parser.types import Factor, Term

from mixedfx.data.fixed import FixedDesign
from mixedfx.data.frame import formula_variables
from mixedfx.data.names import r_name
from mixedfx.errors import FormulaError
from mixedfx.formula.rsyntax import R_FUNCTIONS, expression_variables, parsed

# Rows of the grid per column of the full coding; doubled (at most `GRID_TRIES` times) when
# the random draws leave the coding rank deficient.
GRID_ROWS_PER_COLUMN = 4
GRID_TRIES = 4


@dataclass(frozen=True)
class FixedTerm:
    """A fixed-effects term.

    Attributes
    ----------
    name
        R's name (``recipe:temperature``).
    factors
        Its categorical variables (expressions).
    continuous
        Its numeric variables (expressions).
    columns
        Its columns in X (after rank-deficient columns were dropped).
    """

    name: str
    factors: frozenset[str]
    continuous: frozenset[str]
    columns: tuple[int, ...]


def fixed_terms(fixed: FixedDesign) -> list[FixedTerm]:
    """The terms of the fixed part other than the intercept that kept a column of X."""
    keep = {j: i for i, j in enumerate(fixed.keep)}
    categorical = _categorical_factors(fixed)
    terms = []
    for term, indices in _term_columns(fixed):
        columns = tuple(keep[j] for j in indices if j in keep)
        if str(term) == "1" or not columns:
            continue
        parts = frozenset(str(f) for f in term.factors)
        factors = parts & categorical
        terms.append(FixedTerm(r_name(str(term)), factors, parts - factors, columns))
    return terms


def full_coding(fixed: FixedDesign) -> tuple[np.ndarray, tuple[str, ...]]:
    """L (p × c_full) with X_full = X L on the fitted rows, and the full coding's names.

    Raises
    ------
    FormulaError
        When no grid of the encodings spans the coding (a factor made by an expression of
        several columns, say): then type III contrasts cannot be found without the rows.
    """
    if fixed.columns.plain:  # numeric columns only: the full coding is the coding
        return fixed.expand, tuple(r_name(n) for n in fixed.columns.names)
    spec = fixed.spec
    full = ModelSpec(
        formula=spec.formula, ensure_full_rank=False, transform_state=spec.transform_state
    )
    size = len(fixed.columns.names)
    rng = np.random.default_rng(0)
    for attempt in range(GRID_TRIES):
        grid = _grid(fixed, GRID_ROWS_PER_COLUMN * (size + 8) * 2**attempt, rng)
        X_all = np.asarray(spec.get_model_matrix(grid, context=R_FUNCTIONS), dtype=float)
        X_full = full.get_model_matrix(grid, context=R_FUNCTIONS)
        spans = np.linalg.matrix_rank(X_all) == size and np.all(np.any(X_full != 0, axis=0))
        if spans:
            T = np.linalg.lstsq(X_all, np.asarray(X_full, dtype=float), rcond=None)[0]
            names = tuple(r_name(str(c)) for c in X_full.columns)
            return fixed.expand @ T, names
    raise FormulaError(
        f"cannot derive the full dummy coding of {fixed.columns.formula!r} from its encodings "
        "for type III tests; use type=1 or type=2, or make the factors columns of the data"
    )


def _term_columns(fixed: FixedDesign) -> list[tuple[Term, list[int]]]:
    """Each formulaic term with its columns in the matrix before dropping."""
    if fixed.columns.plain:
        return [(term, [i]) for i, term in enumerate(parsed(fixed.columns.formula))]
    return [(term, list(indices)) for term, indices in fixed.spec.term_indices.items()]


def _categorical_factors(fixed: FixedDesign) -> frozenset[str]:
    if fixed.columns.plain:
        return frozenset()
    return frozenset(
        expr
        for expr, (kind, _) in fixed.spec.encoder_state.items()
        if kind == Factor.Kind.CATEGORICAL
    )


def _grid(fixed: FixedDesign, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """`rows` rows of the fixed part's variables: every factor's levels in turn, in an order
    of its own, and numeric variables drawn from (0.5, 3), where the transforms formulas use
    (logarithms, roots) are defined."""
    levels = _variable_levels(fixed)
    columns: dict[str, object] = {}
    for variable in formula_variables(fixed.columns.formula):
        if variable in levels:
            categories = levels[variable]
            codes = rng.permutation(np.arange(rows) % len(categories))
            columns[variable] = pd.Categorical.from_codes(codes, categories=pd.Index(categories))
        else:
            columns[variable] = rng.uniform(0.5, 3.0, rows)
    return pd.DataFrame(columns)


def _variable_levels(fixed: FixedDesign) -> dict[str, list[object]]:
    """The levels of each data column that a categorical factor reads as it stands or
    through ``C()`` / ``factor()``."""
    out: dict[str, list[object]] = {}
    for expr, (kind, state) in fixed.spec.encoder_state.items():
        if kind != Factor.Kind.CATEGORICAL:
            continue
        variables = expression_variables(expr)
        wrapped = expr.startswith(("C(", "factor("))
        if len(variables) == 1 and (expr == variables[0] or wrapped):
            out[variables[0]] = list(state["categories"])
    return out
