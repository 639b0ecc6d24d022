"""The safe-formula check: an allow-list over the Python that a formula makes formulaic run.

formulaic evaluates every piece of a formula that is not a plain column name as a Python
expression (that is what makes ``np.log(x)`` work), so a formula string can run any code:
``I((eval)((input)()))`` reads and runs a program.  Formulas from untrusted sources (the
command line, a web form) must pass `check_formula` first.  It parses each piece exactly as
formulaic will evaluate it, with formulaic's own parse and its own treatment of backticked
names, and walks the syntax tree, accepting only

* names of columns (plain or backticked),
* calls of the transforms in `FUNCTIONS` and ``np.log``, ``np.log1p``, ``np.exp``,
  ``np.sqrt``, ``np.abs``, by name, with the arguments each takes,
* numbers, and arithmetic (``+ - * / // % **``) and comparison operators.

Everything else is refused: other calls however spelt (``(eval)(…)``, ``f(x)(y)``), attribute
access, subscripts, lambdas, strings and f-strings, comprehensions, ``:=``, ``*args``,
``__dunder__`` names, and a power of numbers alone (``9**9**9`` would take hours).
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from formulaic.errors import FormulaicError
from formulaic.parser.types import Factor
from formulaic.transforms import TRANSFORMS
from formulaic.utils.code import sanitize_variable_names

from mixedfx.errors import FormulaError
from mixedfx.formula.mixed import MixedFormula, parse_formula
from mixedfx.formula.rsyntax import R_FUNCTIONS, parsed
from mixedfx.messages import quote


@dataclass(frozen=True)
class Signature:
    """The arguments an allowed transform takes: the data, then numbers only.

    Attributes
    ----------
    positional
        Most positional arguments (the first is the data expression).
    keywords
        Keyword arguments allowed; their values must be numbers or True/False.
    """

    positional: int = 1
    keywords: frozenset[str] = frozenset()
    all_data: bool = False  # every positional argument is data (R's cbind), none a number


FUNCTIONS: dict[str, Signature] = {
    **{name: Signature() for name in R_FUNCTIONS},
    "cbind": Signature(2, all_data=True),
    **{name: Signature() for name in ("I", "C", "center", "log", "exp", "offset")},
    "scale": Signature(1, frozenset({"center", "scale", "ddof"})),
    "poly": Signature(2, frozenset({"degree", "raw"})),
}
# the largest degree poly() may take in a checked formula (each degree is a column)
MAX_POLY_DEGREE = 20
NUMPY_FUNCTIONS = frozenset({"log", "log1p", "exp", "sqrt", "abs"})
ALLOWED = ", ".join([*sorted(FUNCTIONS), *(f"np.{f}" for f in sorted(NUMPY_FUNCTIONS))])

_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_SIGNS = (ast.UAdd, ast.USub)
_COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
# names an expression could reach other than columns: refused when the columns are not known
_SCOPE = frozenset({*dir(builtins), *TRANSFORMS, *R_FUNCTIONS})
_REFUSED = {
    ast.Attribute: "attribute access",
    ast.Subscript: "a subscript",
    ast.Lambda: "a lambda",
    ast.JoinedStr: "an f-string",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.NamedExpr: "an assignment (:=)",
    ast.Starred: "a starred argument",
    ast.IfExp: "a conditional expression",
    ast.BoolOp: "'and'/'or'",
}


def check_formula(
    formula: str | MixedFormula, columns: Iterable[str] | None = None
) -> MixedFormula:
    """Refuse a formula that would make formulaic run code other than the allowed transforms.

    Use it on formulas from untrusted users before fitting (``mfx.lmer(..., safe=True)``
    runs it).  The pieces checked are all a fit evaluates: the response, the fixed part,
    each random-effects term's expression and its grouping columns.

    Parameters
    ----------
    formula
        The formula text, or its parse.
    columns
        The data's column names.  When given, every name an expression reads must be one
        of them; when not, names of Python builtins, modules and transforms are refused
        (they could only be columns of a data frame that has them).

    Returns
    -------
    MixedFormula
        The parsed formula.

    Raises
    ------
    FormulaError
        Naming the first construct not allowed, and what is.
    """
    names = None if columns is None else frozenset(map(str, columns))
    mixed = formula if isinstance(formula, MixedFormula) else _parse(formula, names)
    # a response that is a column is looked up by name, never evaluated
    if names is None or mixed.response not in names:
        _check_part(mixed.response_term, names)
    offset = () if mixed.offset_term is None else (mixed.offset_term,)
    for part in (mixed.fixed, *offset, *(term.expr for term in mixed.random)):
        _check_part(part, names)
    for term in mixed.random:
        for column in term.factors:
            check_name(column)
    return mixed


def _parse(formula: str, columns: Collection[str] | None) -> MixedFormula:
    """`parse_formula`, with the errors Python's parser raises inside formulaic as ours."""
    try:
        return parse_formula(formula, columns)
    except (SyntaxError, RecursionError) as exc:
        reason = getattr(exc, "msg", None) or type(exc).__name__
        raise FormulaError(f"cannot read the formula {quote(formula)}: {reason}") from None


def _check_part(part: str, columns: Collection[str] | None) -> None:
    """Check each factor of a one-sided formula part as formulaic will evaluate it: a column
    looked up by name, a literal, or a Python expression."""
    try:
        terms = list(parsed(part))
    except (FormulaicError, SyntaxError, RecursionError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FormulaError(f"cannot read {quote(part)}: {first_line}") from None
    for term in terms:
        for factor in term.factors:
            expr = str(factor.expr)
            if factor.eval_method == Factor.EvalMethod.LOOKUP:
                check_name(expr)
            elif factor.eval_method == Factor.EvalMethod.LITERAL:
                if not _is_number(ast.parse(expr, mode="eval").body):
                    raise FormulaError(f"the literal {quote(expr)} is not a number")
            else:
                check_expression(expr, columns)


def check_expression(expr: str, columns: Collection[str] | None) -> None:
    """Refuse a Python expression outside the allow-list (see the module's description).

    The expression is read as formulaic's `stateful_eval` reads it: backticked names become
    identifiers, then Python parses it.  The walk is iterative, so a deep expression cannot
    exhaust the stack.
    """
    aliases: dict[str, str] = {}
    source = sanitize_variable_names(expr, {}, aliases)
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise FormulaError(f"cannot read {quote(expr)} as an expression") from None
    _Walk(source, columns, aliases).check(tree)


@dataclass(frozen=True)
class _Walk:
    """The allow-list walk over one parsed expression.

    Attributes
    ----------
    source
        The parsed text (quoted in messages).
    columns
        The data's column names, when known.
    aliases
        Identifier → backticked column name it stands for.
    """

    source: str
    columns: Collection[str] | None
    aliases: dict[str, str]

    def check(self, tree: ast.Expression) -> None:
        reads = _reads_columns(tree)
        stack: list[ast.AST] = [tree.body]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                self.name(node.id)
            elif isinstance(node, ast.Constant):
                self.number(node)
            elif isinstance(node, ast.Call):
                stack.extend(self.arguments(node))
            elif isinstance(node, ast.BinOp) and isinstance(node.op, _OPERATORS):
                if isinstance(node.op, ast.Pow) and not (
                    reads[id(node.left)] or reads[id(node.right)]
                ):
                    raise FormulaError(
                        f"{self.quote(node)} is a power of numbers alone: write its value"
                    )
                stack.extend((node.left, node.right))
            elif isinstance(node, ast.UnaryOp) and isinstance(node.op, _SIGNS):
                stack.append(node.operand)
            elif isinstance(node, ast.Compare) and all(
                isinstance(o, _COMPARISONS) for o in node.ops
            ):
                stack.extend((node.left, *node.comparators))
            else:
                raise FormulaError(self.refusal(node))

    def name(self, identifier: str) -> None:
        """A name read (not called) must be a column."""
        name = self.aliases.get(identifier, identifier)
        check_name(name)
        if self.columns is not None and name not in self.columns:
            raise FormulaError(
                f"{quote(name)} is not a column of the data: an expression in a formula may "
                f"read columns and call the transforms {ALLOWED}"
            )
        if self.columns is None and name in _SCOPE:
            raise FormulaError(
                f"{quote(name)} names a Python function or module, not a column: an "
                f"expression may only call the transforms {ALLOWED} (if {quote(name)} is a "
                "column, pass the data's columns to the check)"
            )

    def arguments(self, call: ast.Call) -> list[ast.expr]:
        """The data arguments of an allowed call, after checking the callee and the rest."""
        name = self.callee(call.func)
        signature = FUNCTIONS.get(name, Signature())
        if not call.args or len(call.args) > signature.positional:
            numbers = signature.positional - 1
            takes = f"the data and at most {numbers} number(s)" if numbers else "one argument"
            if signature.all_data:
                takes = f"at most {signature.positional} data arguments"
            raise FormulaError(f"{self.quote(call)}: {name}() takes {takes}")
        starred = [arg for arg in call.args if isinstance(arg, ast.Starred)]
        if starred:
            raise FormulaError(self.refusal(starred[0]))
        if signature.all_data:
            if call.keywords:
                raise FormulaError(f"{self.quote(call)}: {name}() takes no keyword arguments")
            return list(call.args)
        for keyword in call.keywords:
            if keyword.arg not in signature.keywords:
                allowed = ", ".join(sorted(signature.keywords)) or "none"
                raise FormulaError(
                    f"{self.quote(call)}: the keyword arguments {name}() may take are {allowed}"
                )
            self.number(keyword.value)
        for extra in call.args[1:]:
            self.number(extra)
        if name == "poly":
            self.degree(call)
        return [call.args[0]]

    def callee(self, func: ast.expr) -> str:
        """The allowed transform `func` names; anything else called is refused."""
        if isinstance(func, ast.Name) and func.id in FUNCTIONS:
            return func.id
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "np"
            and func.attr in NUMPY_FUNCTIONS
        ):
            return f"np.{func.attr}"
        raise FormulaError(
            f"{self.quote(func)}(…) is not an allowed transform; a formula may call only "
            f"{ALLOWED}, by name"
        )

    def number(self, node: ast.AST) -> None:
        """Refuse anything but a number or True/False, optionally signed."""
        if not _is_number(node):
            raise FormulaError(
                f"{self.quote(node)} is not allowed here: only numbers may stand there "
                "(strings and other literals are refused)"
            )

    def degree(self, call: ast.Call) -> None:
        """A polynomial's degree sets the number of columns made: bounded, so that a short
        formula cannot ask for memory in proportion to a huge number."""
        given = [k.value for k in call.keywords if k.arg == "degree"] + call.args[1:2]
        for node in given:
            value = ast.literal_eval(node)
            if not (float(value).is_integer() and 1 <= value <= MAX_POLY_DEGREE):
                raise FormulaError(
                    f"{self.quote(call)}: a polynomial's degree must be a whole number from 1 "
                    f"to {MAX_POLY_DEGREE}"
                )

    def refusal(self, node: ast.AST) -> str:
        kind = _REFUSED.get(type(node), f"a {type(node).__name__} expression")
        return (
            f"{kind} ({self.quote(node)}) is not allowed in a formula: a formula may use "
            f"column names, numbers, arithmetic and comparisons, and the transforms {ALLOWED}"
        )

    def quote(self, node: ast.AST) -> str:
        """The text of `node` (sliced from the source: unparsing a deep tree would recurse)."""
        return quote(ast.get_source_segment(self.source, node) or type(node).__name__)


def _is_number(node: ast.AST) -> bool:
    """A number or True/False, optionally signed."""
    value = node.operand if isinstance(node, ast.UnaryOp) and isinstance(node.op, _SIGNS) else node
    return isinstance(value, ast.Constant) and isinstance(value.value, (int, float))


def check_name(name: str) -> None:
    """Refuse names beginning with ``__``: Python's special names and formulaic's internals."""
    if name.startswith("__"):
        raise FormulaError(f"the name {quote(name)} is not allowed in a formula")


def _reads_columns(tree: ast.Expression) -> dict[int, bool]:
    """For each node (by id), whether its subtree reads a name other than a callee.

    Built children first (reversed breadth-first order) in one pass, so a long chain costs
    linear time."""
    nodes = list(ast.walk(tree))
    callees = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
    reads: dict[int, bool] = {}
    for node in reversed(nodes):
        here = isinstance(node, ast.Name) and id(node) not in callees
        reads[id(node)] = here or any(reads[id(c)] for c in ast.iter_child_nodes(node))
    return reads
