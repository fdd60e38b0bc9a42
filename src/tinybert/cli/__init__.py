"""``tinybert`` command line: one subcommand per command, its options generated from its config.

Each command's options are the fields of its config dataclass in :mod:`tinybert.config`
(:mod:`tinybert.cli.options` turns them into Typer options); the command builds the config, calls
the command's ``run_*`` function and prints the result (:mod:`tinybert.cli.render`). The command
modules are imported only when their command runs, so ``tinybert --help`` does not wait for torch.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tinybert import config as cfg
from tinybert.cli import render
from tinybert.cli.options import command, flags_in_errors
from tinybert.errors import TinyBertError
from tinybert.io.outputs import WRITE_ERRNOS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="TinyBERT-style knowledge distillation for BERT-family models.",
)


def _run(module: str, function: str) -> Any:
    return getattr(importlib.import_module(module), function)


def _finetune(c: cfg.FinetuneConfig) -> None:
    render.finetune(_run("tinybert.stages.finetune", "run_finetune")(c), c.model, c.output)


def _distill(c: cfg.DistillConfig) -> None:
    render.distill(_run("tinybert.stages.distill", "run_distill")(c), c.output)


def _evaluate(c: cfg.EvaluateConfig) -> None:
    run = _run("tinybert.stages.evaluate", "run_evaluate")
    render.evaluate(run(c.model, c.data, split=c.split, output=c.output, batch_size=c.batch_size), c.model, c.output)


def _evaluate_output(values: dict[str, Any]) -> dict[str, Any]:
    """The CLI writes the metrics beside a local model by default."""
    if values.get("output") is None and Path(values["model"]).is_dir():
        values["output"] = Path(values["model"]) / "eval_results.json"
    return values


def _augment(c: cfg.AugmentConfig) -> None:
    render.augment(_run("tinybert.stages.augment", "run_augment")(c), c.output)


def _general_distill(c: cfg.GeneralConfig) -> None:
    render.general_distill(_run("tinybert.stages.general_distill", "run_general_distill")(c), c.output)


def _export(c: cfg.ExportConfig) -> None:
    render.export(_run("tinybert.deploy.export", "run_export")(c), c.output)


def _benchmark(c: cfg.BenchmarkConfig) -> None:
    render.benchmark(_run("tinybert.deploy.benchmark", "run_benchmark")(c), c.output, c.seq_len)


def _predict(c: cfg.PredictConfig) -> None:
    render.predict(_run("tinybert.deploy.predict", "run_predict")(c), c.output)


def _prune(c: cfg.PruneConfig) -> None:
    render.prune(_run("tinybert.stages.prune", "run_prune")(c), c.output)


def _demo(c: cfg.DemoConfig) -> None:
    summary = _run("tinybert.pipeline.demo", "run_demo")(c, echo=render.console.print)
    render.report(summary, c.output)


app.command("finetune")(command(cfg.FinetuneConfig, _finetune))
app.command("distill")(command(cfg.DistillConfig, _distill))
app.command("evaluate")(command(cfg.EvaluateConfig, _evaluate, prepare=_evaluate_output))
app.command("augment")(command(cfg.AugmentConfig, _augment))
app.command("general-distill")(
    command(cfg.GeneralConfig, _general_distill, rest="corpus", rest_help="More corpus paths (e.g. a shell glob).")
)
app.command("prune")(command(cfg.PruneConfig, _prune))
app.command("export")(command(cfg.ExportConfig, _export))
app.command("benchmark")(command(cfg.BenchmarkConfig, _benchmark))
app.command("predict")(command(cfg.PredictConfig, _predict))
app.command("demo")(
    command(cfg.DemoConfig, _demo, rest="overrides", rest_help="Overrides of the demo's recipe, e.g. augment.n=2")
)


@app.command(context_settings={"allow_extra_args": False})
def run(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML file (see configs/).")],
    overrides: Annotated[
        list[str] | None, typer.Argument(metavar="[KEY=VALUE]...", help="Recipe overrides, e.g. distill.batch_size=16")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Run every step again, replacing its result.")] = False,
) -> None:
    """Run a recipe: fine-tune, augment, distill, baseline, evaluate, export, benchmark, report.

    Steps whose result is already in the recipe's output folder are skipped, so running it again
    continues an interrupted run and a finished one returns at once.
    """
    summary = _run("tinybert.pipeline.run", "run")(
        recipe, overrides or [], overwrite=overwrite, echo=render.console.print
    )
    render.report(summary, Path(summary["output"]))


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
