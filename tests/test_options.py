"""Options are declared once (the config dataclasses) and reach the CLI, the API and recipes unchanged."""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from pathlib import Path

import pytest
import typer

import tinybert
from builders import run_cli
from tinybert.cli import app
from tinybert.cli.docs import GROUPS, pages, render
from tinybert.commands import COMMANDS, api_name
from tinybert.config import DistillConfig, FinetuneConfig
from tinybert.errors import TinyBertError
from tinybert.options import _meta, build, specs
from tinybert.pipeline import recipe as recipe_module
from tinybert.pipeline.recipe import SECTIONS, build_recipe

README = Path(__file__).resolve().parents[1] / "README.md"
API = {name: getattr(tinybert, api_name(name)) for name in COMMANDS}


def _cli_options(command: str) -> set[str]:
    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    return {opt for param in click_command.params for opt in param.opts}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_is_a_flag_and_an_api_keyword(command: str) -> None:
    config = COMMANDS[command].config
    flags = _cli_options(command)
    for spec in specs(config):
        if spec.meta.cli and spec.name not in COMMANDS[command].arguments:
            assert spec.flag in flags, (command, spec.name)
    params = inspect.signature(API[command]).parameters
    assert {s.name for s in specs(config)} <= set(params), command


@pytest.mark.parametrize("section", [s for s in SECTIONS if s != "student"])
def test_a_recipe_section_holds_its_commands_options_but_the_recipes_own(section: str) -> None:
    """Every option of the section's command is a key of the section, but the data and student
    groups (the recipe's top level and student: hold them) and the ones the recipe sets itself."""
    step = type(getattr(recipe_module.Recipe(output="o", teacher="t", data=_data()), section))
    config = step.command_config
    assert config in {c.config for c in COMMANDS.values()}
    keys = {f.name for f in dataclasses.fields(step)}
    own = {s.name for s in specs(config) if s.path[:1] not in (("data",), ("student",))}
    assert keys - {"enabled", "sparsities"} == own - step.set_by_recipe, section
    assert {s.name for s in specs(GROUPS["data"])} <= {s.name for s in specs(recipe_module.Recipe)}


def test_a_misspelt_recipe_only_option_is_refused_when_the_section_is_made() -> None:
    with pytest.raises(TypeError, match=r"set_by_recipe names no option of FinetuneConfig: \['modle'\]"):
        recipe_module.section(FinetuneConfig, "Step", "doc", set_by_recipe=("modle",))


def _data():
    from tinybert.config import DataConfig

    return DataConfig(task="sst2", data_dir=Path("d"))


def test_recipe_sections_cover_the_pipeline_steps() -> None:
    assert set(SECTIONS) == {"finetune", "augment", "student", "distill", "baseline", "compress", "export", "benchmark"}


def test_the_option_tables_are_generated_from_the_configs() -> None:
    """README.md and docs/ carry the generated tables, fresh: each command's on its own page, each
    shared group's in docs/options.md, and every option has help text."""
    root = README.parent
    for page in pages(root):
        text = page.read_text()
        assert render(text) == text, f"stale generated tables in {page}: run python -m tinybert.cli.docs"
    for command in COMMANDS:
        page = (root / "docs" / "commands" / f"{command}.md").read_text()
        assert f"<!-- options: {command} -->" in page, command
    shared = (root / "docs" / "options.md").read_text()
    for group in GROUPS:
        assert f"<!-- options: {group} -->" in shared, group
    for config in [*(c.config for c in COMMANDS.values()), *GROUPS.values()]:
        for spec in specs(config):
            if spec.meta.cli and not spec.path:
                assert spec.help, f"{config.__name__}.{spec.name} has no docstring"
    assert len(README.read_text().splitlines()) <= 250, "README.md: keep it short; long text goes to docs/"


def test_a_stage_takes_its_own_value_then_the_shared_one_then_the_default() -> None:
    base = {"teacher": "t", "output": "o", "task": "sst2", "data_dir": "d"}
    assert build(DistillConfig, base).intermediate_optim.epochs == 10
    assert build(DistillConfig, base).prediction_optim.learning_rate == 3e-5
    shared = build(DistillConfig, {**base, "epochs": 2, "learning_rate": 1e-4, "prediction_lr": 2e-5})
    assert (shared.intermediate_optim.epochs, shared.prediction_optim.epochs) == (2, 2)
    assert (shared.intermediate_optim.learning_rate, shared.prediction_optim.learning_rate) == (1e-4, 2e-5)
    # distill now sets weight decay and clipping too (they used to be fine-tuning only)
    tuned = build(DistillConfig, {**base, "weight_decay": 0.0, "max_grad_norm": 0.5})
    assert tuned.prediction_optim.options.weight_decay == 0.0 and tuned.intermediate_optim.options.max_grad_norm == 0.5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"epochs": 0}, "epochs: expected > 0, got 0"),
        ({"intermediate_epochs": 0}, "intermediate_epochs: expected > 0, got 0"),
        ({"learning_rate": 0}, "learning_rate: expected > 0, got 0"),
        ({"prediction_lr": 0.0}, "prediction_lr: expected > 0, got 0.0"),
        ({"batch_size": 0}, "batch_size: expected >= 1, got 0"),
        ({"epochs": "three"}, "epochs: expected a number or null, got 'three'"),
        ({"epoch": 3}, "epoch: unknown option; did you mean epochs?"),
        ({"zzz": 3}, "zzz: unknown option; expected one of teacher, output, overwrite, resume, task"),
    ],
)
def test_api_errors_name_the_keyword_and_zero_is_never_a_default(options: dict, message: str) -> None:
    with pytest.raises(TinyBertError) as err:
        tinybert.distill("t", "o", task="sst2", data_dir="d", **options)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_finetune_learning_rate_zero_is_refused_and_one_value_is_a_search_of_one() -> None:
    base = {"model": "m", "output": "o", "task": "sst2", "data_dir": "d"}
    with pytest.raises(TinyBertError, match="learning_rate: expected > 0, got 0"):
        build(FinetuneConfig, {**base, "learning_rate": 0})
    assert build(FinetuneConfig, {**base, "learning_rate": 1e-4}).training.learning_rate == (1e-4,)
    assert build(FinetuneConfig, {**base, "learning_rate": "1e-4,5e-5"}).training.learning_rate == (1e-4, 5e-5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["distill", "--epochs", "0"], "error: --epochs: expected > 0, got 0.0"),
        (["distill", "--intermediate-epochs", "0"], "error: --intermediate-epochs: expected > 0, got 0.0"),
        (["distill", "--learning-rate", "0"], "error: --learning-rate: expected > 0, got 0.0"),
        (["finetune", "--learning-rate", "0"], "error: --learning-rate: expected > 0, got 0"),
        (["finetune", "--learning-rate", "fast"], "error: --learning-rate: expected a number, got 'fast'"),
        (["distill", "--loss-weights", "attention"], "error: --loss-weights: 'attention': expected name=value"),
        (["distill", "--text-column", "a", "--text-column", "b", "--text-column", "c"], "error: --text-column:"),
        (["distill", "--task", "sst2"], "error: --task: sst2 needs --data-dir"),
    ],
)
def test_cli_errors_name_the_flag_before_anything_is_written(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    model = "--teacher" if args[0] == "distill" else "--model"
    data = [] if "--task" in args or "--text-column" in args else ["--task", "sst2", "--data-dir", str(tmp_path)]
    if "--text-column" in args:
        data = ["--train", str(tmp_path / "t.csv"), "--dev", str(tmp_path / "d.csv")]
    code, err = run_cli([*args, model, tmp_path / "m", "--output", tmp_path / "out", *data], monkeypatch, capsys)
    assert code == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_recipe_errors_name_the_key_and_zero_is_a_value() -> None:
    base = {"output": "o", "teacher": "t", "task": "sst2", "data_dir": "d"}
    with pytest.raises(TinyBertError, match=r"recipe key distill\.prediction_epochs: expected > 0, got 0"):
        build_recipe({**base, "distill": {"prediction_epochs": 0}})
    with pytest.raises(TinyBertError, match=r"recipe key finetune\.warmup_ratio: expected in \[0, 1\), got 1"):
        build_recipe({**base, "finetune": {"warmup_ratio": 1}})
    # a recipe can now set what the command can: the stage, warm-up, weight decay
    recipe = build_recipe({**base, "distill": {"stage": "prediction", "warmup_ratio": 0.0, "weight_decay": 0.1}})
    assert recipe.distill.stage == "prediction" and recipe.distill.warmup_ratio == 0.0


def test_old_names_still_work_with_a_warning() -> None:
    base = {"output": "o", "teacher": "t", "task": "sst2", "data_dir": "d"}
    with pytest.warns(FutureWarning, match="preset is deprecated: use student"):
        recipe = build_recipe({**base, "student": {"preset": "tinybert-6l-768"}})
    assert recipe.student.student == "tinybert-6l-768"
    assert build_recipe({**base, "student": "tinybert-6l-768"}).student.student == "tinybert-6l-768"
    with pytest.warns(FutureWarning, match="train_file is deprecated: use train"):
        config = build(FinetuneConfig, {"model": "m", "output": "o", "train_file": "t.csv", "dev": "d.csv",
                                        "text_columns": "text"})  # fmt: skip
    assert config.data.train == Path("t.csv") and config.data.text_columns == ("text",)
    with pytest.raises(TinyBertError, match="given twice"), pytest.warns(FutureWarning):
        build(FinetuneConfig, {"model": "m", "output": "o", "train_file": "a", "train": "b", "text_columns": "t"})


def test_help_groups_options_in_panels_and_shows_how_structured_values_are_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, text = run_cli(["distill", "--help"], monkeypatch, capsys, stdout=True)
    assert code == 0
    panels = [line.split("─ ", 1)[1].split(" ─")[0] for line in text.splitlines() if line.startswith("╭─ ")]
    assert panels == [
        "Options",
        "Output and resume",
        "Data",
        "Sentence embeddings (--task-type embedding)",
        "Extractive QA (--task-type span)",
        "Token classification (--task-type token)",
        "Student",
        "Training",
        "Losses",
        "Vocabulary pruning",
    ]
    assert re.search(r"--layer-map +3,6,9,12 ", text) and re.search(r"--loss-weights +attention=1,hidden=1", text)


def test_help_texts_name_stage_defaults_by_reference() -> None:
    from tinybert.config import STAGE_DEFAULTS

    helps = {s.name: s.help for s in specs(DistillConfig)}
    epochs, rate = STAGE_DEFAULTS["intermediate"]
    assert helps["intermediate_epochs"].endswith(f"else {epochs:g}).")
    assert helps["intermediate_lr"].endswith(f"else {rate:g}).")
    assert "{const:" not in " ".join(s.help for c in COMMANDS.values() for s in specs(c.config))


# Each command's subject, the model it reads, is its first option, and what the model must be is
# the command's own text (a fine-tuned classifier for export, a pre-trained encoder for
# general-distill, a model with an MLM head for augment): these two names are declared per command.
SUBJECTS = {"model", "teacher"}


def _option_classes() -> set[type]:
    """Every command config and every option group they hold (not value types such as LossWeights)."""
    found: set[type] = set()
    todo = [c.config for c in COMMANDS.values()]
    while todo:
        cls = todo.pop()
        if cls in found:
            continue
        found.add(cls)
        hints = typing.get_type_hints(cls)
        todo += [hints[f.name] for f in dataclasses.fields(cls) if _meta(f).group]
    return found


def test_an_option_is_declared_in_one_config_only() -> None:
    declared: dict[str, set[str]] = {}
    for cls in _option_classes():
        for f in dataclasses.fields(cls):
            if not _meta(f).group:
                declared.setdefault(f.name, set()).add(cls.__name__)
    repeats = {name for name, where in declared.items() if len(where) > 1}
    assert repeats <= SUBJECTS, {n: sorted(declared[n]) for n in repeats - SUBJECTS}
    for entry in COMMANDS.values():  # a subject comes first
        subject = [s for s in specs(entry.config) if s.name in SUBJECTS]
        assert all(s is specs(entry.config)[0] for s in subject), entry.config.__name__


def test_a_new_task_types_options_move_in_without_touching_the_shared_config(tmp_path: Path) -> None:
    """A module dropped into tinybert.task_options is a group of every command that reads task data:
    a flag in its own --help panel, an API keyword and a recipe key, read back as data.<module>."""
    import subprocess
    import sys

    (tmp_path / "toyspan.py").write_text(
        "from dataclasses import dataclass\n"
        "from tinybert.options import at_least, check_fields, option\n\n\n"
        "@dataclass(frozen=True)\n"
        "class ToyOptions:\n"
        "    toy_window: int = option(7, check=at_least(1), panel='Toy task type')\n"
        '    """Toy: tokens per window."""\n\n'
        "    def __post_init__(self) -> None:\n"
        "        check_fields(self)\n\n\n"
        "OPTIONS = ToyOptions\n"
    )
    script = f"""
import tinybert.task_options as found
found.__path__.append({str(tmp_path)!r})
from tinybert.config import DistillConfig, EvaluateConfig
from tinybert.errors import TinyBertError
from tinybert.options import build
from tinybert.pipeline.recipe import build_recipe
base = {{"teacher": "t", "output": "o", "task": "sst2", "data_dir": "d"}}
assert build(DistillConfig, {{**base, "toy_window": 3}}).data.toyspan.toy_window == 3
assert build(EvaluateConfig, {{"model": "m", "task": "sst2", "data_dir": "d"}}).data.toyspan.toy_window == 7
try:
    build(DistillConfig, {{**base, "toy_window": 0}})
except TinyBertError as err:
    print("refused:", err)
recipe = build_recipe({{"output": "o", "teacher": "t", "task": "sst2", "data_dir": "d", "toy_window": 5}})
assert recipe.data.toyspan.toy_window == 5
from typer.testing import CliRunner
from tinybert.cli import app
print(CliRunner().invoke(app, ["distill", "--help"], env={{"COLUMNS": "200"}}).output)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused: toy_window: expected >= 1, got 0" in done.stdout
    assert re.search(r"╭─ Toy task type ─.*\n.*--toy-window +<int> +Toy: tokens per window", done.stdout)
