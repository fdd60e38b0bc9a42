"""The commands: one table, from which the CLI, the Python API, the README's option tables and the
tests are derived.

A command is its config dataclass (:mod:`tinybert.config`: the options, their defaults, help and
checks) and the function that runs it, ``run(config) -> result``, named here as text so that
importing the table (``tinybert --help``) does not import torch. Adding a command is one entry here,
one config class and one module with its ``run_*`` function; the CLI prints the result with the
function of the same name in :mod:`tinybert.cli.render`.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import tinybert.config as cfg
from tinybert.options import build, signature


@dataclass(frozen=True)
class Command:
    """One command of the CLI and of the Python API."""

    config: type
    """Its config dataclass: every option, declared once."""
    run: str
    """``module:function`` taking the config (and the ``extras``) and returning the result."""
    positional: tuple[str, ...] = ()
    """Options the Python API takes positionally, in order (``distill(teacher, output, ...)``)."""
    arguments: tuple[str, ...] = ()
    """Options the CLI takes as positional arguments instead of flags (``tinybert run RECIPE``)."""
    rest: tuple[str, str] | None = None
    """(option, help): a list option that also takes the CLI's trailing arguments."""
    extras: tuple[str, ...] = ()
    """Keywords of ``run`` that are not options (``echo``: where progress lines go)."""

    def function(self) -> Callable[..., Any]:
        """The run function (imports its module)."""
        module, name = self.run.split(":")
        return getattr(importlib.import_module(module), name)


COMMANDS: dict[str, Command] = {
    "finetune": Command(cfg.FinetuneConfig, "tinybert.stages.finetune:run_finetune", ("model", "output")),
    "distill": Command(cfg.DistillConfig, "tinybert.stages.distill:run_distill", ("teacher", "output")),
    "evaluate": Command(cfg.EvaluateConfig, "tinybert.stages.evaluate:run_evaluate", ("model",)),
    "augment": Command(cfg.AugmentConfig, "tinybert.stages.augment:run_augment", ("model", "output")),
    "general-distill": Command(
        cfg.GeneralConfig,
        "tinybert.stages.general_distill:run_general_distill",
        ("teacher", "corpus", "output"),
        rest=("corpus", "More corpus paths (e.g. a shell glob)."),
    ),
    "prune": Command(cfg.PruneConfig, "tinybert.stages.prune:run_prune", ("model", "output")),
    "export": Command(cfg.ExportConfig, "tinybert.deploy.export:run_export", ("model", "output")),
    "benchmark": Command(cfg.BenchmarkConfig, "tinybert.deploy.benchmark:run_benchmark", ("models", "output")),
    "predict": Command(cfg.PredictConfig, "tinybert.deploy.predict:run_predict", ("model", "input")),
    "run": Command(
        cfg.RunConfig,
        "tinybert.pipeline.run:run_recipe_file",
        ("recipe", "overrides"),
        arguments=("recipe",),
        rest=("overrides", "Recipe overrides, e.g. distill.batch_size=16"),
        extras=("echo",),
    ),
    "demo": Command(
        cfg.DemoConfig,
        "tinybert.pipeline.demo:run_demo",
        ("output",),
        rest=("overrides", "Overrides of the demo's recipe, e.g. augment.n=2"),
        extras=("echo", "command"),
    ),
}
"""Every command, by its CLI name; the Python API names it with underscores (``general_distill``)."""


def api_name(name: str) -> str:
    """The Python API's name of command ``name`` (``general-distill`` -> ``general_distill``)."""
    return name.replace("-", "_")


def api_function(name: str) -> Callable[..., Any]:
    """``tinybert.<name>``: the command with its options as keywords (the ``positional`` ones also
    by position), checked as the CLI checks them; returns the command's result."""
    command = COMMANDS[name]

    def call(*args: Any, **options: Any) -> Any:
        if len(args) > len(command.positional):
            raise TypeError(f"{api_name(name)}() takes {len(command.positional)} positional arguments, got {len(args)}")
        extras = {k: options.pop(k) for k in command.extras if k in options}
        given = dict(zip(command.positional, args, strict=False))
        twice = sorted(given.keys() & options.keys())
        if twice:
            raise TypeError(f"{api_name(name)}() got multiple values for {', '.join(twice)}")
        return command.function()(build(command.config, {**given, **options}), **extras)

    options = signature(command.config, first=command.positional)
    extras = [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=None) for k in command.extras]
    call.__signature__ = options.replace(parameters=[*options.parameters.values(), *extras])  # type: ignore[attr-defined]
    call.__name__ = call.__qualname__ = api_name(name)
    call.__doc__ = (
        f"{description(command.config)} The options of ``tinybert {name}`` "
        f"(:class:`~tinybert.config.{command.config.__name__}`); returns its result."
    )
    return call


def api() -> SimpleNamespace:
    """The Python API as one namespace (``api().distill(...)`` is ``tinybert.distill(...)``), for code
    inside the package, which must not import the ``tinybert`` package facade."""
    return SimpleNamespace(**{api_name(name): api_function(name) for name in COMMANDS})


def description(config: type) -> str:
    """What a command does: its config's docstring on one line, without the ``tinybert <name>:`` head
    (the ``--help`` text, the API function's docstring, the command table's summary)."""
    text = " ".join((config.__doc__ or "").split()).split(": ", 1)[-1]
    return text[:1].upper() + text[1:]


__all__ = ["COMMANDS", "Command", "api", "api_function", "api_name", "description"]
