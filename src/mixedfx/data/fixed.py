"""Stage 3a: the response vector and the fixed-effects model matrix X."""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulaic import ModelSpec
from formulaic.errors import DataMismatchWarning

from mixedfx.data.columns import Columns, build_columns, check_finite, evaluate
from mixedfx.data.names import r_name
from mixedfx.errors import DataError, NewLevelError, RankDeficiencyWarning
from mixedfx.messages import quote_list, shorten

# lme4 drops a column whose QR diagonal is below this fraction of the largest (rankMatrix tol)
RANK_TOL = 1e-7


@dataclass(frozen=True)
class FixedDesign:
    """The fixed-effects model matrix and how to rebuild it for new data.

    Attributes
    ----------
    X
        Shape (n, p): full column rank.
    names
        The p coefficient names, R's spelling (``(Intercept)``, ``recipeB``).
    columns
        The model matrix before dropping columns, with formulaic's encoding for new data.
    keep
        Positions of the kept columns in that matrix (rank-deficient ones dropped).
    dropped
        Names of the dropped columns.
    expand
        Shape (p, c): the matrix before dropping columns is X @ expand on the fitted rows
        (each dropped column the combination of the kept ones it equals there).
    """

    X: np.ndarray
    names: tuple[str, ...]
    columns: Columns
    keep: tuple[int, ...]
    dropped: tuple[str, ...]
    expand: np.ndarray

    @property
    def spec(self) -> ModelSpec:
        """formulaic's spec of the matrix before dropping columns."""
        return self.columns.spec

    def matrix(self, data: pd.DataFrame) -> np.ndarray:
        """X for new rows (shape (m, p)), encoded exactly as the training data.

        Raises
        ------
        NewLevelError
            When a categorical predictor has a level the model was not fitted with.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("error", DataMismatchWarning)
            try:
                matrix = self.columns.on(data)
            except DataMismatchWarning as exc:
                levels = re.search(r"\{.*\}", str(exc))
                raise NewLevelError(
                    f"new data hold level(s) {shorten(levels.group(0)) if levels else ''} of a "
                    "categorical predictor not seen in fitting; no fixed effect exists for them"
                ) from None
        return matrix[:, list(self.keep)]


def fingerprint(y: np.ndarray) -> str:
    """A digest of a response's values: fits to the same rows and response share it, so a
    comparison can check that without keeping the rows."""
    return hashlib.blake2b(np.ascontiguousarray(y).tobytes(), digest_size=16).hexdigest()


def response_vector(response: str, data: pd.DataFrame) -> np.ndarray:
    """The response as a float array of shape (n,).

    Parameters
    ----------
    response
        A column name, or an expression in ``I()`` (`MixedFormula.response_term`).

    Raises
    ------
    DataError
        When the response is not numeric (strings, categories) or not finite.
    """
    name = response.strip("`")
    if name in data.columns:
        column = data[name]
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
            raise DataError(
                f"the response {name!r} must be numeric, but its dtype is {column.dtype}; "
                "convert it with pd.to_numeric or choose a numeric column"
            )
        y = column.to_numpy(dtype=float)
        check_finite(y[:, None], (name,))
        return y
    mm = evaluate(f"0 + {response}", data)
    if mm.shape[1] == 2 and response.removeprefix("I(").startswith("cbind("):
        raise DataError(
            f"the response {response!r} is a binomial one (successes and failures): a linear "
            "model needs one numeric column; model it as successes / trials"
        )
    if mm.shape[1] != 1:
        raise DataError(
            f"the response {response!r} must be one numeric column, got {mm.shape[1]} columns "
            f"({', '.join(map(str, mm.columns[:2]))}, ...): convert it to numbers"
        )
    y = np.asarray(mm, dtype=float)[:, 0]
    check_finite(y[:, None], (response,))
    return y


def fixed_design(fixed: str, data: pd.DataFrame) -> FixedDesign:
    """Build X for the fixed part, dropping rank-deficient columns as lme4 does.

    Warns
    -----
    RankDeficiencyWarning
        Naming the dropped columns.
    """
    columns = build_columns(fixed, data)
    X = columns.matrix
    names = [r_name(c) for c in columns.names]
    keep = independent_columns(X)
    dropped = tuple(names[j] for j in range(len(names)) if j not in keep)
    if dropped:
        warnings.warn(
            f"fixed-effect model matrix is rank deficient, so dropping {len(dropped)} column(s): "
            f"{quote_list(dropped)}; they are linear combinations of the other columns",
            RankDeficiencyWarning,
            stacklevel=4,
        )
    kept = tuple(names[j] for j in keep)
    return FixedDesign(X[:, keep], kept, columns, tuple(keep), dropped, _expansion(X, keep))


def _expansion(X: np.ndarray, keep: list[int]) -> np.ndarray:
    """E (p × c) with X = X[:, keep] @ E: the identity on the kept columns, and for each
    dropped column its coefficients on the kept ones (exact, up to `RANK_TOL`)."""
    E = np.zeros((len(keep), X.shape[1]))
    E[np.arange(len(keep)), keep] = 1.0
    dropped = [j for j in range(X.shape[1]) if j not in keep]
    if dropped and keep:
        E[:, dropped] = np.linalg.lstsq(X[:, keep], X[:, dropped], rcond=None)[0]
    return E


def independent_columns(X: np.ndarray) -> list[int]:
    """Positions of a maximal set of linearly independent columns, earliest kept first.

    A column is dropped when, after projecting out the columns kept before it, less than
    `RANK_TOL` of its norm remains (R's `qr` with its limited pivoting behaves the same way).
    """
    keep: list[int] = []
    basis = np.zeros((X.shape[0], 0))
    for j in range(X.shape[1]):
        x = X[:, j]
        norm = float(np.linalg.norm(x))
        resid = x - basis @ (basis.T @ x)
        resid -= basis @ (basis.T @ resid)  # second pass: Gram-Schmidt loses orthogonality
        rnorm = float(np.linalg.norm(resid))
        if norm > 0 and rnorm > RANK_TOL * norm:
            keep.append(j)
            basis = np.column_stack([basis, resid / rnorm])
    return keep
