"""Recipes: every shipped config validates; bad keys and types are one-line errors; overrides; step skipping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from builders import make_model, run_cli, write_sst2
from tinybert.data.glue import GLUE_TASKS
from tinybert.errors import TinyBertError
from tinybert.pipeline.recipe import Recipe, apply_overrides, build_recipe, load_recipe

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_recipe_loads_and_is_headed_by_its_command(path: Path) -> None:
    recipe, resolved = load_recipe(path)
    assert isinstance(recipe, Recipe)
    first = path.read_text().splitlines()[0]
    assert first.startswith(f"# tinybert run configs/{path.name}")
    assert resolved["output"] == recipe.output


def test_a_recipe_for_every_glue_task() -> None:
    shipped = {p.stem for p in CONFIGS.glob("*.yaml")}
    assert set(GLUE_TASKS) - {"wnli"} <= shipped
    for task in GLUE_TASKS:
        if task in shipped:
            assert load_recipe(CONFIGS / f"{task}.yaml")[0].data.task == task


def _base() -> dict:
    return {"output": "runs/x", "teacher": "t", "task": "sst2", "data_dir": "d"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"epochs": 3}, "recipe key epochs: unknown"),
        (
            {"distill": {"batchsize": 16}},
            "recipe key distill.batchsize: unknown option; did you mean distill.batch_size?",
        ),
        ({"distill": {"batch_size": "sixteen"}}, "recipe key distill.batch_size: expected an integer, got 'sixteen'"),
        ({"finetune": {"enabled": "yes"}}, "recipe key finetune.enabled: expected true or false"),
        ({"benchmark": {"batch_sizes": [1, "x"]}}, "recipe key benchmark.batch_sizes: expected an integer"),
        ({"distill": 5}, "distill: expected a mapping"),
        ({"task": "imdb"}, "recipe key task: unknown task 'imdb': expected one of"),
        ({"student": {"init": "copy"}}, "recipe key student.init: 'copy': expected one of random, teacher"),
        ({"distill": {"intermediate_lr": -1}}, "distill.intermediate_lr: expected > 0"),
    ],
)
def test_bad_recipes_are_one_line_errors_naming_the_key(change: dict, message: str) -> None:
    data = {**_base(), **change}
    with pytest.raises(TinyBertError) as err:
        build_recipe(data)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_missing_required_key_is_named() -> None:
    with pytest.raises(TinyBertError, match="recipe key teacher: required"):
        build_recipe({"output": "o", "task": "sst2", "data_dir": "d"})


def test_numbers_written_the_yaml_1_1_way_are_numbers() -> None:
    recipe = build_recipe({**_base(), "distill": {"intermediate_lr": "5e-5", "prediction_epochs": 2}})
    assert recipe.distill.intermediate_lr == 5e-5
    assert recipe.distill.prediction_epochs == 2.0


def test_overrides_set_dotted_keys_as_yaml_values(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("output: runs/x\nteacher: t\ntask: sst2\ndata_dir: d\ndistill:\n  batch_size: 32\n")
    recipe, resolved = load_recipe(
        path,
        ["distill.batch_size=16", "data_dir=other", "benchmark.batch_sizes=[1, 4]", "augment.enabled=true"],
    )
    assert recipe.distill.batch_size == 16 and recipe.data.data_dir == Path("other")
    assert recipe.benchmark.batch_sizes == (1, 4) and recipe.augment.enabled
    assert resolved["distill"]["batch_size"] == 16
    assert apply_overrides({}, ["student.layer_map=3,6"]) == {"student": {"layer_map": "3,6"}}
    with pytest.raises(TinyBertError, match="expected key=value"):
        load_recipe(path, ["distill.batch_size"])
    with pytest.raises(TinyBertError, match=r"recipe key distill\.batch_size: expected an integer"):
        load_recipe(path, ["distill.batch_size=big"])


def test_run_a_tiny_recipe_then_rerun_skips_every_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    base = make_model(tmp_path / "base", labels=None, head=False)
    data = write_sst2(tmp_path / "SST-2", n_train=64, n_dev=16)
    out = tmp_path / "run"
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(
        f"output: {out}\nteacher: {base}\ntask: sst2\ndata_dir: {data}\n"
        "finetune: {epochs: 2, learning_rate: [2e-3], batch_size: 16}\n"
        "student: {layers: 2, init: teacher}\n"
        "distill: {intermediate_epochs: 1, prediction_epochs: 1, batch_size: 16}\n"
        "baseline: {enabled: true}\nexport: {enabled: false}\nbenchmark: {enabled: false}\n"
    )
    code, text = run_cli(["run", recipe], monkeypatch, capsys, stdout=True)
    assert code == 0, text
    for name in ("teacher/metrics.json", "student/metrics.json", "baseline/metrics.json", "eval/student.json"):
        assert (out / name).is_file(), name
    assert (out / "report.html").is_file() and (out / "student" / "README.md").is_file()
    baseline = json.loads((out / "baseline" / "metrics.json").read_text())
    assert baseline["runs"][0]["epochs"] == 2.0  # the distillation's budget: 1 + 1 epochs
    assert baseline["layers"] == 2

    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/metrics.json")}
    code, text = run_cli(["run", recipe], monkeypatch, capsys, stdout=True)
    assert code == 0, text
    assert text.count("done already, skipped") == 4  # fine-tune, distill, baseline, evaluate
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/metrics.json")} == stamps

    # An interrupted run (the baseline never finished): only it and the steps after it run again.
    (out / "baseline" / "metrics.json").unlink()
    code, text = run_cli(["run", recipe], monkeypatch, capsys, stdout=True)
    assert code == 0, text
    assert text.count("done already, skipped") == 2
    assert (out / "student" / "metrics.json").stat().st_mtime_ns == stamps[out / "student" / "metrics.json"]

    # A folder made before a setting existed (its recipe.yaml lacks the key) is the same recipe:
    # the new setting's default is what that run did.
    saved = yaml.safe_load((out / "recipe.yaml").read_text())
    del saved["augment"]["replace_polarity_words"]
    (out / "recipe.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    code, text = run_cli(["run", recipe], monkeypatch, capsys, stdout=True)
    assert code == 0, text
    assert text.count("done already, skipped") == 4

    # A changed recipe is refused in the same folder.
    code, text = run_cli(["run", recipe, "distill.batch_size=8"], monkeypatch, capsys, stdout=True)
    assert code == 2
    assert "different recipe" in text and "distill.batch_size" in text


def test_run_reports_a_bad_recipe_as_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("output: o\nteacher: t\ntask: sst2\ndata_dir: d\ndistil: {batch_size: 2}\n")
    code, text = run_cli(["run", recipe], monkeypatch, capsys, stdout=True)
    assert code == 2
    assert "error: recipe key distil: unknown option; did you mean distill?" in text
    code, text = run_cli(["run", tmp_path / "missing.yaml"], monkeypatch, capsys, stdout=True)
    assert code == 2 and "file not found" in text


def test_a_recipe_prunes_the_distilled_student_and_plots_the_curve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    teacher = make_model(tmp_path / "teacher", layers=4, hidden=32, heads=4, intermediate=64)
    data = write_sst2(tmp_path / "SST-2", n_train=64, n_dev=16)
    out = tmp_path / "run"
    recipe = tmp_path / "compress.yaml"
    recipe.write_text(
        f"output: {out}\nteacher: {teacher}\ntask: sst2\ndata_dir: {data}\nfinetune: {{enabled: false}}\n"
        "student: {layers: 2, init: teacher}\n"
        "distill: {intermediate_epochs: 1, prediction_epochs: 2, batch_size: 16}\n"
        "compress: {enabled: true, sparsities: [0.5, 0.75], prediction_lr: 1e-3}\n"
        "export: {enabled: false}\n"
        "benchmark: {batch_sizes: [1], seq_len: 16, warmup: 1, min_repeats: 2, min_seconds: 0}\n"
    )
    code, text = run_cli(["run", recipe], monkeypatch, capsys, stdout=True)
    assert code == 0, text
    student = json.loads((out / "student" / "metrics.json").read_text())["student"]
    widths = []
    for percent in (50, 75):
        cut = json.loads((out / "compressed" / f"sparsity-{percent}-cut" / "pruning.json").read_text())
        assert cut["model"] == str(out / "student") and cut["budget"]["encoder_sparsity"] >= percent / 100
        recovered = json.loads((out / "compressed" / f"sparsity-{percent}" / "metrics.json").read_text())
        assert recovered["student"]["init"] == f"folder {out / 'compressed' / f'sparsity-{percent}-cut'}"
        assert recovered["student"]["hidden"] == cut["after"]["hidden"] < student["hidden"]
        # the recovery's own budget (1 + 1 epochs), the distillation's batch, compress's learning rate
        stages = recovered["stages"]
        assert [stages[s]["epochs"] for s in ("intermediate", "prediction")] == [1.0, 1.0]
        assert stages["prediction"]["learning_rate"] == 1e-3 and stages["prediction"]["batch_size"] == 16
        assert (out / "eval" / f"sparsity-{percent}.json").is_file()
        widths.append(recovered["student"]["hidden"])
    assert widths[0] > widths[1]
    bench = json.loads((out / "benchmark" / "benchmark.json").read_text())
    benchmarked = {Path(m["model"]).name for m in bench["models"]}
    assert {"teacher", "student", "sparsity-50", "sparsity-75"} <= benchmarked
    report = json.loads((out / "report.json").read_text())
    assert str(out / "plots" / "compression.png") in report["figures"]
    assert [row[0] for row in report["rows"]][-2:] == [
        "student pruned to sparsity 0.5, recovered",
        "student pruned to sparsity 0.75, recovered",
    ]
    code, text = run_cli(["run", recipe], monkeypatch, capsys, stdout=True)
    assert code == 0 and text.count("done already, skipped") == 5  # distill, 2 x compress, evaluate, benchmark

    bad = recipe.read_text().replace("[0.5, 0.75]", "[0.5, 1.5]")
    recipe.write_text(bad)
    code, text = run_cli(["run", recipe, "--overwrite"], monkeypatch, capsys, stdout=True)
    assert code == 2 and "compress.sparsities" in text and "(0, 1)" in text
