"""``tinybert run``: the whole pipeline from one recipe file (the schema and the steps are in
:mod:`tinybert.pipeline.recipe`, shared with ``tinybert demo``)."""

from __future__ import annotations

from collections.abc import Callable

from tinybert.config import RunConfig
from tinybert.pipeline.recipe import load_recipe
from tinybert.pipeline.steps import run_recipe
from tinybert.results import ReportResult


def run_recipe_file(config: RunConfig, *, echo: Callable[[str], None] = print) -> ReportResult:
    """Run the recipe file ``config.recipe`` with its ``key=value`` overrides; returns the report's
    results table.

    Steps whose result is already in the recipe's output folder are skipped; ``config.run.overwrite``
    runs every step again.
    """
    loaded, resolved = load_recipe(config.recipe, config.changes.overrides)
    return run_recipe(loaded, resolved=resolved, overwrite=config.run.overwrite, echo=echo)
