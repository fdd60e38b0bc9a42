"""The README's option tables, generated from the configs (so they cannot drift from the CLI).

``python -m tinybert.cli.docs README.md`` rewrites every block between
``<!-- options: COMMAND -->`` and ``<!-- /options -->``; ``--check`` only reports stale blocks
(the test suite runs the check).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

from tinybert.commands import COMMANDS
from tinybert.config import DataConfig, RunOptions, StudentSpec, TrainingOptions
from tinybert.options import Spec, specs

BLOCK = re.compile(r"(<!-- options: (?P<command>[a-z-]+) -->\n)(?P<body>.*?)(<!-- /options -->)", re.S)


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
    """A markdown table of ``command``'s CLI options (or of a shared group's): flag, default, help."""
    config = GROUPS[command] if command in GROUPS else COMMANDS[command].config
    rows = ["| option | default | meaning |", "|---|---|---|"]
    groups = {path[0] for path in (s.path for s in specs(config)) if path}
    if groups:
        names = " and ".join(f"the {'output' if g == 'run' else g} options" for g in sorted(groups))
        rows.append(f"| {names} | | see their tables above |")
    for spec in specs(config):
        if not spec.meta.cli or spec.path:
            continue
        default = _default(spec)
        rows.append(f"| `{spec.flag}` | {f'`{default}`' if default else ''} | {spec.help.replace('|', '/')} |")
    return "\n".join(rows) + "\n"


def render(text: str) -> str:
    """``text`` with every options block regenerated."""
    return BLOCK.sub(lambda m: m.group(1) + options_table(m.group("command")) + m.group(4), text)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a) for a in argv if a != "--check"] or [Path("README.md")]
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
