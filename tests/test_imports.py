"""The package's modules import each other without cycles, and inference imports no result.

Every import counts: at module level, inside functions (deferred imports), and under
``TYPE_CHECKING``, as each is a dependency of one module on another.  ``from mixedfx import
x`` counts as an import of the module ``mixedfx.x`` when there is one; the root package's
``__init__``, which gathers the public API, is left out (every module may use it).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import mixedfx

ROOT = Path(mixedfx.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str:
    """The module an imported name lives in (a module, or the package that defines it)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str, path: Path) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {_resolve(a.name) for a in node.names if a.name.startswith("mixedfx")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            if base.startswith("mixedfx"):
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    out.add(full if full in MODULES else _resolve(base))
    return out - {module, "mixedfx", ""}


GRAPH = {m: _imports(m, p) for m, p in MODULES.items() if m != "mixedfx"}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_walker_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert "mixedfx.pls.criterion" in GRAPH["mixedfx.models.estimate"]  # module level
    assert "mixedfx.inference.simulation" in GRAPH["mixedfx.models.lmm"]  # in a method
    assert "mixedfx.formula" in GRAPH["mixedfx.report.protocol"]  # under TYPE_CHECKING


def test_no_import_cycles() -> None:
    cycles = _cycles(GRAPH)
    detail = [{m: sorted(GRAPH[m] & set(c)) for m in c} for c in cycles]
    assert not cycles, f"import cycles: {detail}"


def test_inference_and_reports_import_no_result_class() -> None:
    """Inference works on the protocol and reports on theirs: neither reaches into
    `mixedfx.models` (nor the reports into inference's results), so a new model family
    offers the protocol and gets them."""
    for module, imports in GRAPH.items():
        if module.startswith(("mixedfx.inference", "mixedfx.report", "mixedfx.pls")):
            reached = sorted(m for m in imports if m.startswith("mixedfx.models"))
            assert not reached, f"{module} imports {reached}"


def test_import_defers_formulaic_and_scipy_stats_and_keeps_the_api() -> None:
    """``import mixedfx`` loads neither formulaic nor scipy.stats (a command that fits nothing
    starts fast), and every public name still resolves."""
    code = (
        "import sys, mixedfx; "
        "print(sorted(m for m in ('formulaic', 'scipy.stats') if m in sys.modules)); "
        "print(all(getattr(mixedfx, n) is not None for n in mixedfx.__all__))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "True"]
