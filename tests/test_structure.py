"""Size limits of the code (issue #10, item 8), checked on the source tree with ``ast``.

* no module in ``vpp/`` over ``MAX_MODULE_LINES`` lines;
* no function or method in ``vpp/`` or ``simulators/`` over ``MAX_FUNCTION_LINES`` lines,
  counted from its ``def`` (decorators excluded) to its last line, unless it is a data
  builder named in ``DATA_BUILDERS``: a function that is mostly literal data, which reads
  better whole than cut into pieces.

The store's migrations are exempt from both: a migration is a frozen record of a schema
change (Alembic's generated DDL, one statement per column), never edited once released.

A failure names every offender as ``path:line``, so the fix starts where it points.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
EXEMPT_DIRS = ("vpp/adapters/store/migrations/",)

# (path, qualified name) -> why it is a data builder; keep this short.
DATA_BUILDERS: dict[tuple[str, str], str] = {
    ("vpp/optimizer/examples.py", "mixed_problem"): (
        "the canonical mixed example plant (the goldens' 'mixed'): one literal parameter "
        "per line, drawn from one seeded generator in a fixed order"
    ),
    ("simulators/sunspec/image.py", "_models"): (
        "the simulated device's SunSpec models 1, 701-704, 713, 715: literal point values"
    ),
}


def _python_files(top: str) -> Iterator[Path]:
    yield from sorted((ROOT / top).rglob("*.py"))


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _functions(
    tree: ast.AST, prefix: str = ""
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method with its qualified name (``Class.method``, ``outer.inner``)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = f"{prefix}{node.name}"
            yield name, node
            yield from _functions(node, f"{name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def _length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    assert node.end_lineno is not None
    return node.end_lineno - node.lineno + 1


def test_no_module_in_vpp_is_over_the_limit() -> None:
    too_long = []
    for path in _python_files("vpp"):
        rel = _relative(path)
        if rel.startswith(EXEMPT_DIRS):
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{rel}:1: {lines} lines (limit {MAX_MODULE_LINES})")
    assert not too_long, "modules over the limit:\n" + "\n".join(too_long)


def test_no_function_is_over_the_limit() -> None:
    too_long, seen_builders = [], set()
    for top in ("vpp", "simulators"):
        for path in _python_files(top):
            rel = _relative(path)
            if rel.startswith(EXEMPT_DIRS):
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
            for name, node in _functions(tree):
                if (rel, name) in DATA_BUILDERS:
                    seen_builders.add((rel, name))
                    continue
                length = _length(node)
                if length > MAX_FUNCTION_LINES:
                    too_long.append(
                        f"{rel}:{node.lineno}: {name} has {length} lines"
                        f" (limit {MAX_FUNCTION_LINES})"
                    )
    assert not too_long, "functions over the limit:\n" + "\n".join(too_long)
    stale = sorted(set(DATA_BUILDERS) - seen_builders)
    assert not stale, f"allowlisted data builders that no longer exist: {stale}"


def test_the_function_walk_sees_methods_and_nested_functions() -> None:
    tree = ast.parse(
        "class A:\n"
        "    def m(self):\n"
        "        def inner():\n"
        "            pass\n"
        "async def f():\n"
        "    if True:\n"
        "        def g():\n"
        "            return 1\n"
    )
    found = {name: _length(node) for name, node in _functions(tree)}
    assert found == {"A.m": 3, "A.m.inner": 2, "f": 4, "f.g": 2}


def test_the_cli_loads_the_composition_root_only_for_the_command_that_runs() -> None:
    """Every ``vpp …`` process imports ``vpp.cli`` (all subcommands): importing the
    bootstrap package there (alembic, SQLAlchemy, FastAPI, the playground) cost every
    gateway, projector and dispatcher start about 0.9 s here."""
    import subprocess
    import sys

    probe = (
        "import sys, vpp.cli; "
        "print(sorted(m for m in sys.modules if m.startswith('vpp.bootstrap')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]", out
