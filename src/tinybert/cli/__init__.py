"""``tinybert`` command line: one subcommand per entry of :data:`tinybert.commands.COMMANDS`.

Each command's options are the fields of its config dataclass in :mod:`tinybert.config`
(:mod:`tinybert.cli.flags` turns them into Typer options); the command builds the config, calls
the command's run function and prints the result (:mod:`tinybert.cli.render`). The command
modules are imported only when their command runs, so ``tinybert --help`` does not wait for torch.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from tinybert.cli import render
from tinybert.cli.flags import command, flags_in_errors
from tinybert.commands import COMMANDS, Command, api_name
from tinybert.errors import TinyBertError
from tinybert.io.outputs import WRITE_ERRNOS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="TinyBERT-style knowledge distillation for BERT-family models.",
)


def _evaluate_output(values: dict[str, Any]) -> dict[str, Any]:
    """The CLI writes the metrics beside a local model by default."""
    if values.get("output") is None and Path(values["model"]).is_dir():
        values["output"] = Path(values["model"]) / "eval_results.json"
    return values


PREPARE = {"evaluate": _evaluate_output}
"""Defaults the CLI alone sets, by command (they depend on another option's value)."""


def _runner(name: str, entry: Command) -> Callable[[Any], None]:
    """Run the command on its built config and print its result (``render.<name>``)."""
    show = getattr(render, api_name(name))

    def run(config: Any) -> None:
        extras = {"echo": render.console.print} if "echo" in entry.extras else {}
        show(entry.function()(config, **extras), config)

    return run


for _name, _entry in COMMANDS.items():
    rest, rest_help = _entry.rest or (None, "")
    app.command(_name)(
        command(
            _entry.config,
            _runner(_name, _entry),
            rest=rest,
            rest_help=rest_help,
            arguments=_entry.arguments,
            prepare=PREPARE.get(_name),
        )
    )


def main() -> None:
    """Entry point: run the CLI; user errors become one line on stderr and exit status 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import transformers

    # Loading reports ("newly initialized: classifier.weight") and per-file progress bars are
    # expected here (a fresh head is the point of fine-tuning) and would bury our own output.
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        app()
    except TinyBertError as err:
        render.errors.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as err:
        if err.errno not in WRITE_ERRNOS:
            raise
        where = f" {err.filename}" if err.filename else ""
        render.errors.print(f"[bold red]error:[/] cannot write{where} ({err.strerror or err})", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        render.errors.print("interrupted")
        sys.exit(130)


__all__ = ["app", "flags_in_errors", "main"]
