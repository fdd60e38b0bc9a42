"""The layering contract: each part of the package imports only the parts below it.

Lowest first. A module may import from its own part and from the parts listed before it; every
import counts, at module level or inside a function (a lazy import is still a dependency). The
order is what ARCHITECTURE.md draws; a change that needs an upward import moves code instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tinybert"

LAYERS = (
    "errors",  # the one-line error type
    "options",  # declaring options once, building configs with per-surface errors
    "io",  # output folders, atomic writes, the environment record
    "results",  # what each command returns: typed records of its result files (no torch)
    "timing",  # timing a call (benchmark, latency budgets)
    "losses",  # TinyBERT's loss functions, pure
    "training",  # the loop's option group and settings (no torch), the training loop, checkpoints
    "task_options",  # each task type's own data options (no torch)
    "config",  # every command's config dataclasses
    "commands",  # the command table (run functions named as text, imported lazily)
    "data",  # rows, readers, the GLUE tables, features and loaders, the raw-text corpus
    "tasks",  # task types (sequence, token, span), metrics, loading a task's data
    "models",  # loading, students, the layer map, pruning, attention scores, packing, saving
    "deploy",  # runtimes, export and parity, predict, benchmark
    "evaluation",  # predictions and metrics of a model or an export
    "distillation",  # the TinyBERT objective, the teacher's cached outputs
    "stages",  # the training commands
    "pipeline",  # recipes, run, demo, report
    "cli",  # the command line
    "__init__",  # the package facade: the Python API
)


def part(module: str) -> str:
    """``tinybert.models.pruning`` -> ``models``; ``tinybert`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports() -> list[tuple[str, str, str]]:
    """(importing part, imported part, where) for every import of a tinybert module in the package."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                base = node.module
                names = [f"{base}.{a.name}" for a in node.names] if base == "tinybert" else [base]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name == "tinybert" or name.startswith("tinybert."):
                    found.append((part(module), part(name), f"{relative}.py:{node.lineno}"))
    return found


def test_every_part_of_the_package_is_in_the_contract() -> None:
    parts = {p.stem if p.is_file() else p.name for p in SRC.iterdir() if not p.name.startswith((".", "_"))}
    parts = {p for p in parts if p != "py.typed"} | {"__init__"}
    assert parts - {"__pycache__"} == set(LAYERS)


def test_no_part_imports_a_part_above_it() -> None:
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = [f"{where}: {a} imports {b}" for a, b, where in imports() if rank[b] > rank[a]]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize(("module", "forbidden"), [("config", "torch"), ("commands", "torch"), ("cli", "torch")])
def test_the_lower_parts_that_help_imports_do_not_import_torch(module: str, forbidden: str) -> None:
    """``tinybert --help`` and the option tables load these; they stay free of torch."""
    import subprocess
    import sys

    code = f"import sys, tinybert.{module}; print({forbidden!r} in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_no_function_in_stages_or_pipeline_is_over_80_lines() -> None:
    """A stage reads as setup / train / save: each step a function that fits on a screen."""
    long = []
    for path in sorted([*(SRC / "stages").glob("*.py"), *(SRC / "pipeline").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > 80:
                long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1}")
    assert not long, long
