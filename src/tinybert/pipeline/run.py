"""``tinybert run``: the whole pipeline from one recipe file (the schema and the steps are in
:mod:`tinybert.pipeline.recipe`, shared with ``tinybert demo``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from tinybert.pipeline.recipe import load_recipe, run_recipe


def run(
    recipe: str | Path, overrides: Sequence[str] = (), *, overwrite: bool = False, echo: Callable[[str], None] = print
) -> dict:
    """Run the recipe file ``recipe`` with ``key=value`` overrides; returns the report's summary.

    Steps whose result is already in the recipe's output folder are skipped; ``overwrite`` runs
    every step again.
    """
    loaded, resolved = load_recipe(recipe, overrides)
    summary = run_recipe(loaded, resolved=resolved, overwrite=overwrite, echo=echo)
    return {**summary, "output": loaded.output}
