"""Task types: the sequence type's closed-form views, losses and metrics; the lookup from a saved
model; and issue 11's acceptance test: a toy token-tagging task type, defined and registered here,
runs through distill, evaluate, export (ONNX fp32 + parity) and predict without library changes."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from transformers import (
    AutoModelForTokenClassification,
    BertConfig,
    BertForSequenceClassification,
    BertForTokenClassification,
    DataCollatorForTokenClassification,
    PretrainedConfig,
)

from builders import FILLER, NEGATIVE, POSITIVE, VOCAB, write_tokenizer
from tinybert.config import DataConfig, DistillConfig, RunOptions, StudentSpec, TrainingOptions
from tinybert.data.glue import TaskSpec, get_task
from tinybert.data.readers import TaskData
from tinybert.data.rows import iter_json_lines
from tinybert.deploy.export import ExportConfig, run_export
from tinybert.deploy.predict import PredictConfig, run_predict
from tinybert.deploy.runtime import load_inference_model
from tinybert.errors import TinyBertError
from tinybert.stages.distill import run_distill
from tinybert.stages.evaluate import evaluate_folder
from tinybert.tasks.base import (
    get_task_type,
    per_example,
    register_task_type,
    task_type_for_config,
    task_type_for_data,
    unregister_task_type,
)

# ------------------------------------------------------------------------------------------------
# The sequence task type in closed form


def test_sequence_views_losses_and_metrics_in_closed_form() -> None:
    seq = get_task_type("sequence")
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])  # (B=2, C=2)
    (view, mask), *rest = seq.views({"logits": logits}, {})
    assert rest == [] and mask is None and view is logits
    teacher = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    # soft CE at t = 1: row 1: targets (1/2, 1/2); row 2: targets softmax(1, 0)
    ls1 = torch.log_softmax(logits[0], -1)
    ls2 = torch.log_softmax(logits[1], -1)
    p2 = torch.softmax(teacher[1], -1)
    expected = (-(0.5 * ls1).sum() - (p2 * ls2).sum()) / 2
    got = seq.soft_loss([(logits, None)], [teacher], 1.0, False)
    torch.testing.assert_close(got, expected)
    # regression: MSE against the teacher's prediction, not the gold value
    s, t = torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [1.0]])
    torch.testing.assert_close(seq.soft_loss([(s, None)], [t], 1.0, True), torch.tensor((1.0 + 4.0) / 2))
    # hard loss: cross-entropy to the gold class; MSE for regression
    hard = seq.hard_loss([(logits, None)], torch.tensor([0, 0]), False)
    torch.testing.assert_close(hard, -(ls1[0] + ls2[0]) / 2)
    torch.testing.assert_close(seq.hard_loss([(s, None)], torch.tensor([1.0, 1.0]), True), torch.tensor(2.0))
    # metrics: GLUE's, from per-example views; the main metric is there
    views = [[np.array([2.0, 0.0]), np.array([0.0, 1.0]), np.array([0.0, 3.0])]]
    labels = [np.array(0), np.array(0), np.array(1)]
    metrics = seq.metrics(get_task("mrpc"), views, labels, positive_label=1)
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["f1"] == pytest.approx(2 * 1 / (2 * 1 + 1 + 0))  # TP 1, FP 1, FN 0
    assert metrics["accuracy_and_f1"] == pytest.approx((2 / 3 + 2 / 3) / 2)


def test_sequence_postprocess_is_the_text_classification_pipeline() -> None:
    seq = get_task_type("sequence")
    config = PretrainedConfig(id2label={0: "neg", 1: "pos"}, label2id={"neg": 0, "pos": 1})
    config.problem_type = "single_label_classification"
    rows = seq.postprocess([[np.array([0.0, math.log(3.0)])]], [None], [{}], config)
    assert rows == [{"predicted_label": "pos", "score": pytest.approx(0.75)}]


def test_per_example_cuts_per_position_views_to_each_length() -> None:
    scores = torch.arange(2 * 3 * 2, dtype=torch.float32).reshape(2, 3, 2)  # (B, L, C)
    attention = torch.tensor([[1, 1, 1], [1, 1, 0]])
    logits = torch.ones(2, 4)
    out = per_example([(logits, None), (scores, attention.bool())], attention)
    assert [a.shape for a in out[0]] == [(4,), (4,)]
    assert [a.shape for a in out[1]] == [(3, 2), (2, 2)]
    np.testing.assert_array_equal(out[1][1], scores[1, :2].numpy())


def test_task_type_of_a_saved_model_comes_from_its_architectures(tmp_path: Path) -> None:
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=8, num_hidden_layers=1, num_attention_heads=2)
    config.architectures = ["BertForSequenceClassification"]
    assert task_type_for_config(config, "--model m").name == "sequence"
    config.architectures = None  # a config that never said: taken as a sequence classifier
    assert task_type_for_config(config, "--model m").name == "sequence"
    BertForSequenceClassification(config).save_pretrained(tmp_path / "seq")
    write_tokenizer(tmp_path / "seq")
    assert load_inference_model(tmp_path / "seq").task_type.name == "sequence"


def test_unknown_architecture_is_a_one_line_error(tmp_path: Path) -> None:
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=8, num_hidden_layers=1, num_attention_heads=2)
    config.architectures = ["BertForMultipleChoice"]
    with pytest.raises(TinyBertError, match=r"--model m: has no classification head \(BertForMultipleChoice\)") as err:
        task_type_for_config(config, "--model m")
    assert "\n" not in str(err.value) and "ForSequenceClassification" in str(err.value)


def test_data_options_choose_the_sequence_type_by_default(tmp_path: Path) -> None:
    glue = DataConfig(task="sst2", data_dir=tmp_path)
    files = DataConfig(train=tmp_path / "t.csv", dev=tmp_path / "d.csv", text_columns=("text",))
    assert task_type_for_data(glue).name == "sequence" and task_type_for_data(files).name == "sequence"
    with pytest.raises(TinyBertError, match=r"unknown task type 'nope': expected one of .*sequence"):
        task_type_for_data(files, "nope")


# ------------------------------------------------------------------------------------------------
# A toy token-tagging task type, defined only here

TAGS = ("NEG", "O", "POS")


def word_tag(word: str) -> str:
    return "POS" if word in POSITIVE else "NEG" if word in NEGATIVE else "O"


@dataclass
class Tagged:
    words: list[str]
    tags: list[str] | None


class ToyTagging:
    """Tag every word POS / NEG / O; the first word piece of each word carries its tag."""

    name = "toy-tagging"
    architecture = "ForTokenClassification"
    head_class = AutoModelForTokenClassification
    pipeline_task = "token-classification"
    output_names = ("logits",)
    prediction_columns = ("predicted_tags",)

    def read(self, data: DataConfig, need_train: bool) -> TaskData:
        def read(path: Path) -> list[Tagged]:
            return [Tagged(list(obj["tokens"]), list(obj["tags"])) for _, obj in iter_json_lines(path)]

        spec = TaskSpec("toytags", False, TAGS, "accuracy", 32, False, None)
        train = read(Path(data.data_dir) / "train.jsonl") if need_train else []
        return TaskData(spec=spec, train=train, evals={"dev": read(Path(data.data_dir) / "dev.jsonl")})

    def examples_from_texts(self, texts: Sequence[Sequence[str]]) -> list[Tagged]:
        return [Tagged(t[0].split(), None) for t in texts]

    def featurize(
        self,
        examples: Sequence[Tagged],
        tokenizer: Any,
        max_seq_length: int,
        label2id: Mapping[str, int] | None,
        regression: bool = False,
    ) -> list[dict]:
        encoded = tokenizer(
            [ex.words for ex in examples], is_split_into_words=True, truncation=True, max_length=max_seq_length
        )
        features = []
        for i, ex in enumerate(examples):
            word_ids = encoded.word_ids(i)
            first = [int(w is not None and (j == 0 or word_ids[j - 1] != w)) for j, w in enumerate(word_ids)]
            feature = {k: list(encoded[k][i]) for k in ("input_ids", "attention_mask", "token_type_ids")}
            feature["first_piece"] = first
            feature["word_ids"] = [-1 if w is None else w for w in word_ids]
            if ex.tags is not None and label2id is not None:
                feature["labels"] = [label2id[ex.tags[w]] if f else -100 for w, f in zip(word_ids, first, strict=True)]
            features.append(feature)
        return features

    def collator(self, tokenizer: Any) -> Any:
        return DataCollatorForTokenClassification(tokenizer, return_tensors="pt")

    def views(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, torch.Tensor]) -> list:
        return [(outputs["logits"], batch["first_piece"].bool())]  # (B, L, C), (B, L)

    def soft_loss(
        self, student: list, teacher: list[torch.Tensor], temperature: float, regression: bool
    ) -> torch.Tensor:
        (s, mask), t = student[0], teacher[0]
        per_position = -(F.softmax(t / temperature, -1) * F.log_softmax(s / temperature, -1)).sum(-1)  # (B, L)
        return torch.where(mask, per_position, 0.0).sum() / mask.sum().clamp_min(1)

    def hard_loss(self, student: list, labels: torch.Tensor, regression: bool) -> torch.Tensor:
        logits = student[0][0]
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)

    def metrics(self, spec: TaskSpec, predictions: list, labels: list, positive_label: int | None) -> dict[str, float]:
        right = total = 0
        for scores, gold in zip(predictions[0], labels, strict=True):  # (L_i, C), (L_i,)
            keep = gold != -100
            right += int((scores.argmax(-1)[keep] == gold[keep]).sum())
            total += int(keep.sum())
        return {"accuracy": right / total}

    def postprocess(self, predictions: list, examples: Sequence, features: Sequence[dict], config: Any) -> list[dict]:
        rows = []
        for scores, feature in zip(predictions[0], features, strict=True):
            ids = scores.argmax(-1)  # (L_i,): the example's real pieces
            firsts = feature["first_piece"]  # (L_i,)
            rows.append({"predicted_tags": [config.id2label[int(i)] for i, f in zip(ids, firsts, strict=True) if f]})
        return rows


def tagged_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        words = [rng.choice(FILLER + POSITIVE + NEGATIVE) for _ in range(rng.randint(2, 7))]
        rows.append({"tokens": words, "tags": [word_tag(w) for w in words]})
    return rows


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    register_task_type(ToyTagging(), tasks=("toytags",))
    root = tmp_path_factory.mktemp("toy")
    data = root / "data"
    data.mkdir()
    for name, n, seed in (("train.jsonl", 48, 1), ("dev.jsonl", 16, 2)):
        (data / name).write_text("".join(json.dumps(r) + "\n" for r in tagged_rows(n, seed)))
    (data / "predict.jsonl").write_text(
        "".join(json.dumps({"id": i, "text": " ".join(r["tokens"])}) + "\n" for i, r in enumerate(tagged_rows(6, 3)))
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=len(TAGS),
        id2label=dict(enumerate(TAGS)),
        label2id={t: i for i, t in enumerate(TAGS)},
    )
    BertForTokenClassification(config).save_pretrained(root / "base")
    write_tokenizer(root / "base")
    yield {"root": root, "data": data, "base": root / "base"}
    unregister_task_type("toy-tagging")


def test_toy_token_task_runs_through_distill_evaluate_export_and_predict(
    toy: dict[str, Path], toy_teacher: dict
) -> None:
    data = DataConfig(task="toytags", data_dir=toy["data"])
    student_dir = toy["root"] / "student"
    summary = run_distill(
        DistillConfig(
            teacher=str(toy_teacher["path"]),
            run=RunOptions(student_dir),
            data=data,
            student=StudentSpec(layers=2, hidden=32, heads=4, intermediate=64),
            intermediate_epochs=1,
            intermediate_lr=1e-3,
            prediction_epochs=6,
            prediction_lr=3e-3,
            training=TrainingOptions(batch_size=8),
        )
    )
    saved = json.loads((student_dir / "config.json").read_text())
    assert saved["architectures"] == ["BertForTokenClassification"] and saved["num_hidden_layers"] == 2
    assert set(summary.stages) == {"intermediate", "prediction"}
    assert summary.teacher.eval["dev"]["accuracy"] == toy_teacher["summary"].eval["dev"]["accuracy"]
    # soft per-token targets alone (hard-label weight 0) teach the student the teacher's tags
    assert summary.student.eval["dev"]["accuracy"] > 0.8
    assert summary.stages["prediction"].steps == 6 * 6  # 48 examples, batch 8, 6 epochs

    # evaluate: the PyTorch student scores as distill reported
    metrics = evaluate_folder(str(student_dir), data)
    assert metrics["dev"]["accuracy"] == pytest.approx(summary.student.eval["dev"]["accuracy"])

    # export: ONNX fp32 with the task type's outputs, parity on each
    export_dir = toy["root"] / "export"
    info = run_export(ExportConfig(model=str(student_dir), run=RunOptions(export_dir), samples=8))
    assert info.outputs == ["logits"] and info.task_type == "toy-tagging"
    assert info.parity.passed and info.parity.argmax_agreement == 1.0
    assert info.parity.outputs_max_abs_diff["logits"] < 1e-3
    runtime = load_inference_model(export_dir)
    assert runtime.kind == "onnx" and runtime.task_type.name == "toy-tagging"
    # evaluate the export: the same accuracy as the PyTorch model
    assert evaluate_folder(str(export_dir), data)["dev"]["accuracy"] == pytest.approx(metrics["dev"]["accuracy"])

    # predict: one tag per word, the same from the export as from the PyTorch model
    outputs = {}
    for name, model in (("onnx", export_dir), ("torch", student_dir)):
        outputs[name] = toy["root"] / f"pred-{name}.jsonl"
        config = PredictConfig(model=str(model), input=toy["data"] / "predict.jsonl", run=RunOptions(outputs[name]))
        result = run_predict(config)
        assert result.rows == 6
    rows = [json.loads(line) for line in outputs["onnx"].read_text().splitlines()]
    assert rows == [json.loads(line) for line in outputs["torch"].read_text().splitlines()]
    for row in rows:
        assert len(row["predicted_tags"]) == len(row["text"].split()) and set(row["predicted_tags"]) <= set(TAGS)
        assert set(row) == {"id", "text", "predicted_tags"}
    # ... and the same tags as the PyTorch head's argmax on each word's first piece
    model = AutoModelForTokenClassification.from_pretrained(student_dir).eval()
    tokenizer = runtime.tokenizer
    for row in rows:
        enc = tokenizer(row["text"].split(), is_split_into_words=True, return_tensors="pt")
        with torch.inference_mode():
            ids = model(**enc).logits[0].argmax(-1).tolist()
        word_ids = enc.word_ids(0)
        firsts = [j for j, w in enumerate(word_ids) if w is not None and (j == 0 or word_ids[j - 1] != w)]
        assert row["predicted_tags"] == [TAGS[ids[j]] for j in firsts]


def test_toy_teacher_cache_keeps_per_token_views(toy: dict[str, Path], toy_teacher: dict) -> None:
    """The cached teacher views are (L_i, C) per example and reproduce the live loss."""
    from accelerate import Accelerator

    from tinybert.config import LossWeights
    from tinybert.distillation.objective import TEACHER_LOGITS, DistillationModule
    from tinybert.distillation.teacher_cache import with_teacher_logits
    from tinybert.models.layer_map import uniform_map
    from tinybert.models.loading import load_classifier, load_tokenizer
    from tinybert.tasks.loading import Features, load_data

    task = load_data(DataConfig(task="toytags", data_dir=toy["data"]), need_train=True)
    assert task.task_type == "toy-tagging"
    toy_type = get_task_type("toy-tagging")
    teacher_dir = str(toy_teacher["path"])
    teacher = load_classifier(teacher_dir, TAGS, "--teacher", new_head=False, task_type=toy_type).eval()
    features = Features(task, load_tokenizer(teacher_dir, "--teacher"), TAGS, None)
    cached = with_teacher_logits(teacher, features, Accelerator(cpu=True), batch_size=5)
    for row in cached:
        assert np.asarray(row[TEACHER_LOGITS]).shape == (len(row["input_ids"]), len(TAGS))
    weights = LossWeights(prediction=1.0, hard_label=0.0)
    module = DistillationModule(teacher, teacher, uniform_map(4, 4), weights, "prediction", task_type=toy_type)
    batch = next(iter(features.loader(cached[:6], 6, shuffle=False)))
    live = module({k: v for k, v in batch.items() if k != TEACHER_LOGITS})
    from_cache = module(batch)
    assert from_cache.parts["prediction"].item() == pytest.approx(live.parts["prediction"].item(), rel=1e-5)


# ------------------------------------------------------------------------------------------------
# Seams: one tokenisation path, no private imports across modules, no command imports another


def test_training_export_and_predict_tokenise_alike(tiny_teacher: Path) -> None:
    """The export parity check and predict batch texts with the training features' tokenisation."""
    from tinybert.data.features import encode
    from tinybert.data.readers import Example
    from tinybert.models.loading import load_tokenizer
    from tinybert.tasks.base import text_batches

    tokenizer = load_tokenizer(str(tiny_teacher), "--model")
    seq = get_task_type("sequence")
    for texts in (
        [["the film was good ."], ["bad"], ["a very very long and boring story , really"]],
        [["good film", "it was fun"], ["bad", "the plot was dull and weak and sad"]],
    ):
        examples = [Example(t[0], t[1] if len(t) > 1 else None, None) for t in texts]
        trained = encode(examples, tokenizer, 8, None, False)  # truncated: the limit applies alike
        (batch, _, features), *_ = text_batches(seq, tokenizer, texts, 8, batch_size=8)
        assert features == trained
        for row, feature in zip(batch["input_ids"], trained, strict=True):
            assert row[: len(feature["input_ids"])].tolist() == feature["input_ids"]


def _imports(path: Path) -> list[tuple[str, str]]:
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
    return found


SRC = Path(__file__).resolve().parents[1] / "src" / "tinybert"


def test_no_private_names_are_imported_across_modules() -> None:
    offenders = [
        f"{path.relative_to(SRC)}: {module}.{name}"
        for path in SRC.rglob("*.py")
        for module, name in _imports(path)
        if module.startswith("tinybert") and name.startswith("_")
    ]
    assert offenders == []


def test_no_command_module_imports_another() -> None:
    commands = {f"tinybert.stages.{p.stem}" for p in (SRC / "stages").glob("*.py") if p.stem != "__init__"}
    commands |= {"tinybert.deploy.export", "tinybert.deploy.predict", "tinybert.deploy.benchmark"}
    commands |= {"tinybert.pipeline.run", "tinybert.pipeline.demo"}
    offenders = []
    for path in SRC.rglob("*.py"):
        module = "tinybert." + ".".join(path.relative_to(SRC).with_suffix("").parts)
        if module not in commands:
            continue
        for imported, name in _imports(path):
            targets = {imported, f"{imported}.{name}"} & commands
            offenders += [f"{module} -> {t}" for t in targets if t != module]
    assert offenders == []


def test_left_padding_and_glue_name_clashes_are_refused(tmp_path: Path) -> None:
    scores = torch.zeros(2, 3, 2)  # (B, L, C)
    left_padded = torch.tensor([[0, 1, 1], [1, 1, 1]])
    with pytest.raises(TinyBertError, match="padded on the left"):
        per_example([(scores, left_padded.bool())], left_padded)
    with pytest.raises(TinyBertError, match="'SST-2' is a GLUE task"):
        register_task_type(ToyTagging(), tasks=("SST-2",))
    assert task_type_for_data(DataConfig(task="sst2", data_dir=tmp_path)).name == "sequence"


@pytest.fixture(scope="module")
def toy_teacher(toy: dict[str, Path]) -> dict:
    """The random token model fine-tuned on the toy tags by ``finetune``, with its summary."""
    from tinybert.config import FinetuneConfig
    from tinybert.stages.finetune import run_finetune

    output = toy["root"] / "teacher"
    summary = run_finetune(
        FinetuneConfig(
            model=str(toy["base"]),
            run=RunOptions(output),
            data=DataConfig(task="toytags", data_dir=toy["data"]),
            training=TrainingOptions(batch_size=8, epochs=6, learning_rate=(3e-3,)),
        )
    )
    return {"path": output, "summary": summary}


def test_toy_token_task_finetunes_on_its_labels(toy: dict[str, Path], toy_teacher: dict) -> None:
    """``finetune`` trains the task type's head on per-token labels (-100 on the other pieces)."""
    saved = json.loads((toy_teacher["path"] / "config.json").read_text())
    assert saved["architectures"] == ["BertForTokenClassification"]
    before = evaluate_folder(str(toy["base"]), DataConfig(task="toytags", data_dir=toy["data"]))["dev"]["accuracy"]
    assert toy_teacher["summary"].eval["dev"]["accuracy"] > max(before, 0.8)  # the tag rule is easy to learn
