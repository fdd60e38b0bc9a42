"""Options declared once: a config dataclass field (type, default, docstring) is the CLI option,
the Python API keyword and the recipe key.

A command's config is a frozen dataclass whose fields are its options. A field's attribute
docstring is its help text; :func:`option` adds what only some surfaces need (a CLI flag spelled
differently, a per-field check, old names kept as aliases). Fields declared
with :func:`group` hold a shared option group (data, student, ...) whose fields are flattened into
the command's options: ``--task`` rather than ``--data.task``.

Every surface builds a config through :func:`build` from flat ``{option name: value}`` mappings,
so the checks and conversions are the same for ``tinybert distill --epochs 0``,
``tinybert.distill(..., epochs=0)`` and a recipe's ``distill.epochs: 0``. A check raises
:class:`OptionError` naming the field; each surface re-labels it with its own name for the field
(``--epochs``, ``epochs``, ``recipe key distill.epochs``).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import inspect
import re
import sys
import textwrap
import types
import typing
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any

from tinybert.errors import TinyBertError

__all__ = [
    "OptionError",
    "Spec",
    "as_options",
    "build",
    "check_fields",
    "group",
    "option",
    "specs",
]

Check = Callable[[Any], "str | None"]
"""A per-field check: the problem with a value (e.g. ``"expected > 0, got 0"``), or None when fine."""


@dataclass(frozen=True)
class Meta:
    """What a field declares beyond its type, default and docstring."""

    flag: str | None = None
    """The CLI flag when it is not ``--`` + the name with dashes (``--text-column`` for ``text_columns``)."""
    aliases: tuple[str, ...] = ()
    """Old names (underscored) accepted by every surface for one release, with a warning."""
    cli: bool = True
    """False: not offered on the command line (set by the API or a recipe only)."""
    check: Check | None = None
    group: bool = False
    """The field holds an option group whose fields are flattened into the command's options."""
    panel: str | None = None
    """The ``--help`` panel of the option when it is not its group's (a task type's own options)."""
    exclude: tuple[str, ...] = ()
    """A group field: options of the group this command does not offer (they keep their defaults)."""
    only: tuple[str, ...] = ()
    """A group field: the only options of the group this command offers (none given: all but ``exclude``)."""
    example: str | None = None
    """How a structured value is written (``3,6,9,12``), shown in ``--help`` in place of its type."""

    def offers(self, name: str) -> bool:
        """A group field: whether the command offers the group's option ``name``."""
        return name not in self.exclude and (not self.only or name in self.only)


def option(
    default: Any = MISSING,
    *,
    factory: Callable[[], Any] | Any = MISSING,
    flag: str | None = None,
    aliases: Sequence[str] = (),
    cli: bool = True,
    check: Check | None = None,
    panel: str | None = None,
    example: str | None = None,
) -> Any:
    """A config field with option metadata (its help text is the attribute docstring below it)."""
    meta = {"tinybert": Meta(flag=flag, aliases=tuple(aliases), cli=cli, check=check, panel=panel, example=example)}
    if factory is not MISSING:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def group(factory: Callable[[], Any] | None = None, exclude: Sequence[str] = (), only: Sequence[str] = ()) -> Any:
    """A field holding an option group (a dataclass), built from the flattened options; required
    unless ``factory`` makes its default (a group whose defaults are valid on their own).
    ``exclude``: the group's options this command does not offer (they keep their defaults);
    ``only``: the ones it offers, when that list is the shorter."""
    meta = {"tinybert": Meta(group=True, exclude=tuple(exclude), only=tuple(only))}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(metadata=meta)


class OptionError(TinyBertError):
    """A bad option value, naming the field. ``problem`` may name other fields as ``{field}``,
    which each surface fills with its own name for them."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem
        super().__init__(f"{name}: {_fill(problem, lambda n: n)}")

    def relabel(self, label: Callable[[str], str], head: Callable[[str], str] | None = None) -> TinyBertError:
        """The same error with every field named by ``label`` (and the leading one by ``head``)."""
        return TinyBertError(f"{(head or label)(self.name)}: {_fill(self.problem, label)}")


def _fill(problem: str, label: Callable[[str], str]) -> str:
    class Names(dict):
        def __missing__(self, key: str) -> str:
            return label(key)

    try:
        return problem.format_map(Names())
    except (ValueError, IndexError, AttributeError):  # a literal brace in a quoted value
        return problem


# ---------------------------------------------------------------------------------------------
# Per-field checks


def positive(value: Any) -> str | None:
    return None if value is None or value > 0 else f"expected > 0, got {value}"


def non_negative(value: Any) -> str | None:
    return None if value is None or value >= 0 else f"expected >= 0, got {value}"


def at_least(low: float) -> Check:
    def check(value: Any) -> str | None:
        return None if value is None or value >= low else f"expected >= {low:g}, got {value}"

    return check


def fraction(value: Any) -> str | None:
    """In [0, 1)."""
    return None if value is None or 0 <= value < 1 else f"expected in [0, 1), got {value}"


def one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value is None or value in choices else f"{value!r}: expected one of {', '.join(choices)}"

    return check


def check_fields(config: Any) -> None:
    """Run the per-field checks of ``config``'s own fields (call from ``__post_init__``)."""
    for f in dataclasses.fields(config):
        meta = _meta(f)
        if meta.check is not None:
            problem = meta.check(getattr(config, f.name))
            if problem:
                raise OptionError(f.name, problem)


# ---------------------------------------------------------------------------------------------
# The flattened options of a config class


@dataclass(frozen=True)
class Spec:
    """One option as every surface sees it."""

    name: str
    """The field name: the API keyword and the recipe key."""
    path: tuple[str, ...]
    """Group fields above it (``("data",)`` for ``task`` in a command config)."""
    type: Any
    default: Any
    """The default value, or ``dataclasses.MISSING`` for a required option."""
    help: str
    meta: Meta

    @property
    def required(self) -> bool:
        return self.default is MISSING

    @property
    def flag(self) -> str:
        return self.meta.flag or "--" + self.name.replace("_", "-")


def _meta(f: dataclasses.Field) -> Meta:
    return f.metadata.get("tinybert", Meta())


@functools.cache
def field_help(cls: type) -> dict[str, str]:
    """The attribute docstrings of ``cls`` (and its dataclass bases): field name -> text."""
    helps: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):  # no source (generated class)
            continue
        body = ast.parse(source).body[0].body  # type: ignore[attr-defined]
        for node, after in zip(body, [*body[1:], None], strict=True):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                text = " ".join(inspect.cleandoc(after.value.value).split())
                helps[node.target.id] = _constants(text, sys.modules[klass.__module__])
    return helps


CONSTANT = re.compile(r"\{const:(?P<name>[\w.\[\]'\"]+)\}")
"""A help text's reference to a constant of its config's module, e.g. ``{const:INTERMEDIATE_EPOCHS}``:
help texts name defaults by reference, so that they never restate (and drift from) the value."""


def _constants(text: str, module: Any) -> str:
    def value(match: re.Match[str]) -> str:
        found = eval(match.group("name"), vars(module))
        return f"{found:g}" if isinstance(found, float) else str(found)

    return CONSTANT.sub(value, text)


def _default(f: dataclasses.Field) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return MISSING


@functools.cache
def specs(cls: type) -> tuple[Spec, ...]:
    """Every option of the config class ``cls``, groups flattened, in declaration order."""
    hints = typing.get_type_hints(cls)
    helps = field_help(cls)
    out: list[Spec] = []
    for f in dataclasses.fields(cls):
        meta = _meta(f)
        if meta.group:
            # a group's defaults may differ per command: its field's factory makes them
            defaults = _default(f)
            inner = specs(hints[f.name])
            unknown = sorted({*meta.exclude, *meta.only} - {s.name for s in inner})
            if unknown:  # a programming error: a group field names options its group lacks
                raise TypeError(f"{cls.__name__}.{f.name}: {hints[f.name].__name__} lacks {', '.join(unknown)}")
            for s in inner:
                if not meta.offers(s.name):
                    continue
                default = s.default if defaults is MISSING or s.path else getattr(defaults, s.name)
                out.append(dataclasses.replace(s, path=(f.name, *s.path), default=default))
        else:
            text = helps.get(f.name) or f.metadata.get("help", "")
            out.append(Spec(f.name, (), hints[f.name], _default(f), text, meta))
    names = [s.name for s in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:  # a programming error: two groups declare the same option
        raise TypeError(f"{cls.__name__}: options declared twice: {', '.join(duplicates)}")
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Values: checked against the annotation, for every surface


def type_name(tp: Any) -> str:
    """``float | None`` -> ``"a number or null"``."""
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return "a mapping or a name=value list"
        return {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false"}.get(
            tp.__name__, "a path" if tp is Path else tp.__name__
        )
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        names = [type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" or null" if type(None) in args else "")
    if origin in (list, tuple):
        return f"a list of {type_name(args[0]).removeprefix('a ').removeprefix('an ')}s"
    return str(tp)


def coerce(value: Any, tp: Any, name: str) -> Any:
    """``value`` as the annotation ``tp`` says (``"1e-4"`` counts as a number, ``"a.tsv"`` as a path,
    one string as a one-item list); :class:`OptionError` otherwise."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, name)
            except OptionError:
                continue
    elif origin in (list, tuple):
        if isinstance(value, str) and args[0] is not str:  # "1,8,32" from an override or a flag
            value = [v for v in value.split(",") if v.strip()]
        items = list(value) if isinstance(value, list | tuple) else [value]
        converted = [coerce(item, args[0], name) for item in items]
        return tuple(converted) if origin is tuple else converted
    elif dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        parse = getattr(tp, "parse", None)
        if isinstance(value, str | type(None)) and parse is not None:
            return parse(value)
        if isinstance(value, Mapping):
            return build(tp, value)
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():  # "1,8,32" split, a CLI text
            return int(value)
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is Path:
        if isinstance(value, str | Path):
            return Path(value)
    elif tp is str:
        if isinstance(value, str | int | float | Path) and not isinstance(value, bool):
            return str(value)
    elif tp is Any:
        return value
    raise OptionError(name, f"expected {type_name(tp)}, got {value!r}")


def build(
    cls: type,
    values: Mapping[str, Any],
    label: Callable[[str], str] | None = None,
    head: Callable[[str], str] | None = None,
) -> Any:
    """An instance of the config class ``cls`` from flat ``{option name: value}``.

    Options left out take their defaults; an unknown name, a missing required option, a value of
    the wrong type and every check of the configs raise a one-line error naming the option by
    ``label`` (default: the field name; ``head`` for the option the message is about).
    """
    label = label or (lambda n: n)
    try:
        return _build(cls, dict(values))
    except OptionError as err:
        raise err.relabel(label, head) from None


def _resolve_aliases(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    known = {s.name: s for s in specs(cls)}
    alias_of = {alias: s.name for s in known.values() for alias in s.meta.aliases}
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = alias_of.get(key, key)
        if name not in known:
            nearest = difflib.get_close_matches(name, [*known, *alias_of], n=1, cutoff=0.6)
            if nearest:
                raise OptionError(key, f"unknown option; did you mean {{{alias_of.get(nearest[0], nearest[0])}}}?")
            names = ", ".join("{" + n + "}" for n in known)
            raise OptionError(key, f"unknown option; expected one of {names}")
        if name != key:
            if value is None:  # an old name left at its default (e.g. in a saved recipe.yaml)
                continue
            warnings.warn(f"option {key} is deprecated: use {name}", FutureWarning, stacklevel=5)
            if out.get(name) is not None or values.get(name) is not None:
                raise OptionError(name, f"given twice (also as {{{key}}}, its old name)")
        out[name] = value
    return out


def _build(cls: type, values: dict[str, Any]) -> Any:
    values = _resolve_aliases(cls, values)
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if _meta(f).group:
            own = {s.name for s in specs(hints[f.name]) if _meta(f).offers(s.name)}
            given = {k: v for k, v in values.items() if k in own}
            defaults = _default(f)
            base = {} if defaults is MISSING else as_options(defaults)  # this command's defaults
            kwargs[f.name] = _build(hints[f.name], {**base, **given})
        elif f.name in values:
            kwargs[f.name] = coerce(values[f.name], hints[f.name], f.name)
        elif _default(f) is MISSING:
            raise OptionError(f.name, "required")
    return cls(**kwargs)


def as_options(config: Any) -> dict[str, Any]:
    """The flat ``{option name: value}`` of a config instance (the inverse of :func:`build`)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        out.update(as_options(value) if _meta(f).group else {f.name: value})
    return out


def signature(cls: type, first: Sequence[str]) -> inspect.Signature:
    """A keyword signature for an API function taking ``cls``'s options (``first`` positional)."""
    params = []
    for s in specs(cls):
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD if s.name in first else inspect.Parameter.KEYWORD_ONLY
        default = inspect.Parameter.empty if s.required else s.default
        params.append(inspect.Parameter(s.name, kind, default=default, annotation=s.type))
    # the positional ones first, in the order of ``first`` (an option group may declare one late)
    params.sort(key=lambda p: (p.kind, first.index(p.name) if p.name in first else 0))
    return inspect.Signature(params)
