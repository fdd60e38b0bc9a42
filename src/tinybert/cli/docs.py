"""The documentation's generated blocks: option tables and the command table, from the command
table and the configs (so they cannot drift from the CLI).

``python -m tinybert.cli.docs`` rewrites, in README.md and every page under docs/, each block
between ``<!-- options: COMMAND -->`` (or a shared group's name) and ``<!-- /options -->``, and
between ``<!-- commands: LINK -->`` and ``<!-- /commands -->`` (LINK: where the command pages are,
relative to the file); ``--check`` only reports stale files (the test suite runs the check).
"""

from __future__ import annotations

import dataclasses
import re
import sys
import typing
from pathlib import Path

from tinybert.commands import COMMANDS, description
from tinybert.config import DataConfig, RunOptions, StudentSpec, TrainingOptions
from tinybert.options import Spec, specs

BLOCK = re.compile(r"(<!-- options: (?P<command>[a-z-]+) -->\n)(?P<body>.*?)(<!-- /options -->)", re.S)
COMMAND_BLOCK = re.compile(r"(<!-- commands: (?P<link>[^ ]*) -->\n)(?P<body>.*?)(<!-- /commands -->)", re.S)
PAGES = ("README.md", "docs")
"""The files with generated blocks: README.md and every markdown page under docs/."""


def _default(spec: Spec) -> str:
    value = spec.default
    if spec.required:
        return "required"
    if value is None or value == ():
        return ""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if dataclasses.is_dataclass(value):
        return ",".join(f"{k}={v:g}" for k, v in dataclasses.asdict(value).items())
    return f"{value:g}" if isinstance(value, float) else str(value)


GROUPS = {"data": DataConfig, "student": StudentSpec, "training": TrainingOptions, "output": RunOptions}
"""Option groups shared by several commands: one table each, which the commands' tables refer to."""


def options_table(command: str) -> str:
    """A markdown table of ``command``'s CLI options (or of a shared group's): flag, default, help.

    A shared group (:data:`GROUPS`) the command offers whole is one row linking to its table; the
    options of a group it offers in part, or of a group no other table lists, are rows here."""
    config = GROUPS[command] if command in GROUPS else COMMANDS[command].config
    hints = typing.get_type_hints(config)
    table_of = {cls: name for name, cls in GROUPS.items()}
    offered = specs(config)
    linked = sorted(
        {
            s.path[0]
            for s in offered
            if s.path
            and config not in GROUPS.values()
            and hints[s.path[0]] in table_of
            and sum(o.path[:1] == s.path[:1] for o in offered) == len(specs(hints[s.path[0]]))
        }
    )
    rows = ["| option | default | meaning |", "|---|---|---|"]
    if linked:
        names = " and ".join(f"the {table_of[hints[g]]} options" for g in linked)
        rows.append(f"| {names} | | see [the shared options](../options.md) |")
    for spec in offered:
        if not spec.meta.cli or spec.path[:1] in [(g,) for g in linked]:
            continue
        default = _default(spec)
        rows.append(f"| `{spec.flag}` | {f'`{default}`' if default else ''} | {spec.help.replace('|', '/')} |")
    return "\n".join(rows) + "\n"


def commands_table(link: str) -> str:
    """A markdown table of every command: its name (linking to ``link``/NAME.md) and what it does."""
    rows = ["| command | what it does |", "|---|---|"]
    for name, command in COMMANDS.items():
        summary = description(command.config).split(". ")[0].rstrip(".")
        rows.append(f"| [`tinybert {name}`]({link}{name}.md) | {summary} |")
    return "\n".join(rows) + "\n"


def render(text: str) -> str:
    """``text`` with every generated block regenerated."""
    text = BLOCK.sub(lambda m: m.group(1) + options_table(m.group("command")) + m.group(4), text)
    return COMMAND_BLOCK.sub(lambda m: m.group(1) + commands_table(m.group("link")) + m.group(4), text)


def pages(root: Path) -> list[Path]:
    """README.md and the docs/ pages under ``root`` (the repository)."""
    out: list[Path] = []
    for name in PAGES:
        path = root / name
        out.extend(sorted(path.rglob("*.md")) if path.is_dir() else [path])
    return out


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a) for a in argv if a != "--check"] or pages(Path("."))
    stale = []
    for path in paths:
        text = path.read_text()
        new = render(text)
        if new != text:
            stale.append(path)
            if not check:
                path.write_text(new)
    if check and stale:
        print(f"stale option tables in {', '.join(map(str, stale))}: run python -m tinybert.cli.docs", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
