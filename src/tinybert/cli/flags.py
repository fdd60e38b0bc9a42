"""Typer commands generated from the config dataclasses: each field is an option, its docstring the help.

Nothing here names an option: the names, types, defaults and help come from
:func:`tinybert.options.specs`. A command's parameters are the config's options (groups
flattened); the values the user gave are checked and converted by :func:`tinybert.options.build`,
exactly as the Python API's keywords are, and an error names the flag.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import typer

from tinybert.commands import description
from tinybert.options import OptionError, Spec, build, specs


def flag_label(config: type) -> Callable[[str], str]:
    """Field name -> the command's flag (``text_columns`` -> ``--text-column``)."""
    flags = {s.name: s.flag for s in specs(config)}
    return lambda name: flags.get(name, "--" + name.replace("_", "-"))


@contextlib.contextmanager
def flags_in_errors(config: type) -> Iterator[None]:
    """Option errors raised while a command runs (a check inside the run) name the flag."""
    try:
        yield
    except OptionError as err:
        raise err.relabel(flag_label(config)) from None


def _cli_type(tp: Any) -> tuple[Any, bool]:
    """The type Typer parses for an option of type ``tp``, and whether the option repeats.

    Lists of text repeat the flag (``--text-column a --text-column b``); lists of numbers and
    value dataclasses (loss weights) are one text value that :func:`tinybert.options.coerce` reads
    (``--learning-rate 1e-4,5e-5``, ``--loss-weights attention=0``).
    """
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        base, repeats = _cli_type(inner[0]) if len(inner) == 1 else (str, False)
        return base | None, repeats
    if origin in (list, tuple):
        if args[0] is str:
            return list[str] | None, True
        return str | None, False
    if dataclasses.is_dataclass(tp):
        return str | None, False
    return tp, False


def _default_text(spec: Spec) -> str | None:
    """The default as the help shows it, for values Typer cannot show itself."""
    value = spec.default
    if isinstance(value, tuple):
        return ",".join(map(str, value)) if value else None
    if dataclasses.is_dataclass(value):
        return ",".join(f"{k}={v:g}" for k, v in dataclasses.asdict(value).items())
    return None


PANELS = {
    "data": "Data",
    "student": "Student",
    "training": "Training",
    "run": "Output and resume",
    "losses": "Losses",
    "vocab": "Vocabulary pruning",
}
"""``--help`` panels of the shared option groups, by the field that holds the group."""


def _panel(spec: Spec) -> str:
    """The option's ``--help`` panel: its own (a task type's options), its group's, or the command's."""
    if spec.meta.panel:
        return spec.meta.panel
    return PANELS.get(spec.path[0], spec.path[0].capitalize()) if spec.path else "Options"


def _parameter(spec: Spec, rest: str | None, argument: bool = False) -> inspect.Parameter:
    tp, repeats = _cli_type(spec.type)
    required = spec.required and spec.name != rest
    show = _default_text(spec)
    names = f"{spec.flag}/--no-{spec.flag[2:]}" if tp is bool else spec.flag  # as Typer names bool options
    if argument:
        info = typer.Argument(help=spec.help, show_default=False)
    else:
        info = typer.Option(
            names,
            help=spec.help,
            show_default=show if show is not None else not repeats,
            metavar=spec.meta.example or ("TEXT" if repeats else None),
            rich_help_panel=_panel(spec),
        )
    if required:
        default: Any = inspect.Parameter.empty
    elif repeats or tp != spec.type:
        default = None  # left out: the config's default (shown in the help)
    else:
        default = spec.default
    return inspect.Parameter(spec.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[tp, info])


def command(
    config: type,
    run: Callable[[Any], None],
    *,
    rest: str | None = None,
    rest_help: str = "",
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    arguments: tuple[str, ...] = (),
) -> Callable[..., None]:
    """A Typer command function for ``config``: its options, then ``run(config_instance)``.

    ``rest``: an option whose list also takes the command's positional arguments (general-distill's
    corpus paths, the demo's KEY=VALUE overrides). ``prepare``: adjusts the given values first
    (e.g. a default that depends on another option). ``arguments``: options given as positional
    arguments, in this order, before ``rest``'s (``tinybert run RECIPE``).
    """
    options = [s for s in specs(config) if s.meta.cli or s.name == rest]
    by_name = {s.name: s for s in options}
    params = [_parameter(by_name[name], rest, argument=True) for name in arguments]
    params += [_parameter(s, rest) for s in options if s.meta.cli and s.name not in arguments]
    if rest is not None:
        info = typer.Argument(metavar="ARG...", help=rest_help, show_default=False)
        annotation = Annotated[list[str] | None, info]
        params.append(inspect.Parameter("rest_", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation))

    def invoke(**given: Any) -> None:
        extra = given.pop("rest_", None) or []
        values: dict[str, Any] = {}
        values = {name: value for name, value in given.items() if value is not None}  # None: left out
        if rest is not None and extra:
            values[rest] = [*(values.get(rest) or []), *extra]
        if prepare is not None:
            values = prepare(values)
        label = flag_label(config)
        parsed = build(config, values, label=label)
        with flags_in_errors(config):
            run(parsed)

    invoke.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    invoke.__doc__ = description(config)
    return invoke


__all__ = ["command", "flag_label", "flags_in_errors"]
