"""The catalogue of bad inputs (docs/bad-inputs.md): each gives one line ``error: ...`` naming the
file or option and what was expected, exit status 2, and leaves no new folder or ``*.tmp`` behind."""

from __future__ import annotations

import errno
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from architectures import make_arch_model
from builders import make_mlm_model, make_model, make_tokenizer, run_cli, write_sst2

DOCS = Path(__file__).resolve().parents[1] / "docs" / "bad-inputs.md"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good and broken model folders and data, built once."""
    root = tmp_path_factory.mktemp("bad")
    teacher = make_model(root / "teacher")
    paths = {"root": root, "teacher": teacher, "data": write_sst2(root / "SST-2", n_train=32, n_dev=16)}

    def variant(name: str) -> Path:
        folder = root / name
        shutil.copytree(teacher, folder)
        paths[name] = folder
        return folder

    weights = variant("truncated") / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    weights = variant("corrupt") / "model.safetensors"
    weights.write_bytes(b"\x00" * 8 + weights.read_bytes()[8:])
    no_tokenizer = variant("no_tokenizer")
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        (no_tokenizer / name).unlink(missing_ok=True)
    config = json.loads((teacher / "config.json").read_text())
    (variant("wrong_type") / "config.json").write_text(json.dumps({**config, "hidden_size": "wide"}))
    (variant("bad_json") / "config.json").write_text('{"model_type": "bert",')
    (variant("no_config") / "config.json").unlink()
    (variant("no_weights") / "model.safetensors").unlink()
    pickled = variant("pickle")
    (pickled / "model.safetensors").unlink()
    torch.save({"bert.embeddings.word_embeddings.weight": print}, pickled / "pytorch_model.bin")  # a global
    tokenizer = make_tokenizer()
    tokenizer.add_tokens([f"extra{i}" for i in range(20)])
    tokenizer.save_pretrained(variant("big_tokenizer"))
    paths["three"] = make_model(root / "three", layers=2, labels=("a", "b", "c"))
    paths["other_vocab"] = make_mlm_model(root / "other_vocab")
    paths["other_heads"] = make_model(root / "other_heads", heads=2)
    paths["deberta"] = make_arch_model(root / "deberta", "deberta")
    paths["regression"] = make_model(root / "regression", labels=None)
    (root / "a_file.txt").write_text("not a folder\n")
    paths["a_file"] = root / "a_file.txt"
    (root / "full").mkdir()
    (root / "full" / "keep.txt").write_text("keep\n")
    (root / "rows.csv").write_text("text\na good film\n")
    (root / "empty.tsv").write_text("")
    return paths


def _glue(p: dict[str, Path]) -> list:
    return ["--task", "sst2", "--data-dir", p["data"]]


def finetune(model: str, *extra: object) -> Callable[[dict[str, Path], Path], list]:
    return lambda p, out: [
        "finetune",
        "--model",
        p.get(model, model),
        *_glue(p),
        "--output",
        out,
        "--epochs",
        "1",
        *extra,
    ]


def distill(teacher: str, *extra: object) -> Callable[[dict[str, Path], Path], list]:
    return lambda p, out: [
        "distill", "--teacher", p.get(teacher, teacher), *_glue(p), "--output", out, "--layers", "2", "--epochs", "1",
        *extra,
    ]  # fmt: skip


def student(folder: str) -> Callable[[dict[str, Path], Path], list]:
    """distill with ``--student FOLDER`` (a folder fixes the shape: no --layers)."""
    return lambda p, out: [
        "distill", "--teacher", p["teacher"], *_glue(p), "--output", out, "--epochs", "1", "--student", p[folder]
    ]  # fmt: skip


def evaluate(model: str, *extra: object) -> Callable[[dict[str, Path], Path], list]:
    return lambda p, out: ["evaluate", "--model", p.get(model, model), *_glue(p), "--output", out / "m.json", *extra]


def export(model: str, *extra: object) -> Callable[[dict[str, Path], Path], list]:
    return lambda p, out: ["export", "--model", p.get(model, model), "--output", out, *extra]


def predict(model: str, *extra: object) -> Callable[[dict[str, Path], Path], list]:
    return lambda p, out: ["predict", "--model", p.get(model, model), "--input", p["data"] / "dev.tsv",
                           "--output", out / "p.tsv", *extra]  # fmt: skip


def benchmark(model: str, *extra: object) -> Callable[[dict[str, Path], Path], list]:
    return lambda p, out: ["benchmark", "--model", p.get(model, model), "--output", out, "--batch-size", "1",
                           "--warmup", "0", "--min-repeats", "1", "--min-seconds", "0", *extra]  # fmt: skip


def missing(command: Callable) -> Callable[[dict[str, Path], Path], list]:
    """``command`` with the model given as a local path that does not exist."""
    return lambda p, out: [str(p["root"] / "nothere") if str(a).endswith("MISSING") else a for a in command(p, out)]


# (id, command line, a regular expression the one-line error must match)
CASES: list[tuple[str, Callable[[dict[str, Path], Path], list], str]] = [
    # model files
    ("truncated-weights-finetune", finetune("truncated"), r"--model .*model\.safetensors: truncated or corrupt"),
    ("truncated-weights-distill", distill("truncated"), r"--teacher .*model\.safetensors: truncated or corrupt"),
    ("truncated-weights-evaluate", evaluate("truncated"), r"--model .*model\.safetensors: truncated"),
    ("truncated-weights-export", export("truncated"), r"--model .*model\.safetensors: truncated"),
    ("truncated-weights-predict", predict("truncated"), r"--model .*model\.safetensors: truncated"),
    ("truncated-weights-benchmark", benchmark("truncated"), r"--model .*model\.safetensors: truncated"),
    ("corrupt-weights-header", distill("corrupt"), r"--teacher .*model\.safetensors: (truncated or )?corrupt"),
    ("no-weights", finetune("no_weights"), r"--model .*no_weights: folder has no model weights"),
    ("pickle-only-finetune", finetune("pickle"), r"--model .*pickle weights .*expected model\.safetensors"),
    ("pickle-only-distill", distill("pickle"), r"--teacher .*pickle weights .*expected model\.safetensors"),
    ("no-tokenizer-finetune", finetune("no_tokenizer"), r"--model .*no_tokenizer: folder has no tokenizer files"),
    ("no-tokenizer-distill", distill("no_tokenizer"), r"--teacher .*folder has no tokenizer files"),
    ("no-tokenizer-evaluate", evaluate("no_tokenizer"), r"--model .*folder has no tokenizer files"),
    ("no-tokenizer-predict", predict("no_tokenizer"), r"--model .*folder has no tokenizer files"),
    ("tokenizer-larger-than-vocab", distill("big_tokenizer"), r"tokenizer has 56 tokens, the model's vocabulary 36"),
    ("config-wrong-type-finetune", finetune("wrong_type"), r"--model .*hidden_size.* expected int, got str"),
    ("config-wrong-type-distill", distill("wrong_type"), r"--teacher .*hidden_size.* expected int"),
    ("config-not-json", evaluate("bad_json"), r"--model .*config\.json: not valid JSON"),
    ("no-config", export("no_config"), r"--model .*no_config: folder has no config\.json"),
    ("model-is-a-file", finetune("a_file"), r"a_file\.txt.*(is a file|has no config)"),
    ("missing-folder-finetune", missing(finetune("MISSING")), r"--model .*nothere: no such folder"),
    ("missing-folder-distill", missing(distill("MISSING")), r"--teacher .*nothere: no such folder"),
    ("missing-folder-evaluate", missing(evaluate("MISSING")), r"--model .*nothere: no such folder"),
    ("missing-folder-export", missing(export("MISSING")), r"--model .*nothere: (no such folder|folder not found)"),
    # lengths
    ("max-seq-length-finetune", finetune("teacher", "--max-seq-length", "100"), r"--max-seq-length 100: .* at most 64"),
    ("max-seq-length-distill", distill("teacher", "--max-seq-length", "100"), r"--max-seq-length 100: --teacher"),
    ("max-seq-length-evaluate", evaluate("teacher", "--max-seq-length", "100"), r"--max-seq-length 100: .* at most 64"),
    ("benchmark-seq-len", benchmark("teacher", "--seq-len", "100"), r"--seq-len 100: .* at most 64 tokens"),
    # options
    (
        "benchmark-batch-size-0",
        benchmark("teacher", "--batch-size", "0"),
        r"--batch-size: 0: expected positive integers",
    ),
    ("epochs-0", finetune("teacher", "--epochs", "0"), r"--epochs"),
    ("loss-weight-unknown", distill("teacher", "--loss-weights", "attn=2"), r"--loss-weights"),
    ("stage-unknown", distill("teacher", "--stage", "everything"), r"--stage"),
    ("hidden-not-divisible", distill("teacher", "--hidden", "30"), r"not divisible"),
    ("more-student-layers", distill("teacher", "--layers", "6"), r"student layers <= teacher layers"),
    ("layer-map-out-of-range", distill("teacher", "--layer-map", "1,9"), r"between 1 and 4"),
    # a random student with fewer heads has no teacher head per head (the default init cuts it: allowed)
    ("heads-differ", distill("teacher", "--heads", "2", "--hidden", "16", "--init", "random"), r"attention heads"),
    (
        "init-teacher-narrow",
        distill("teacher", "--init", "teacher", "--hidden", "16", "--intermediate", "16"),
        r"no teacher tensor",
    ),
    ("split-unknown", evaluate("teacher", "--split", "test"), r"--split test"),
    ("own-attention-teacher", distill("deberta"), r"--teacher \(DebertaForSequence.*--loss-weights attention=0"),
    ("student-other-labels", student("three"), r"--student .*three: the model predicts labels"),
    ("student-other-vocab", student("other_vocab"), r"--student .*vocabulary of 39 tokens"),
    ("student-other-heads", student("other_heads"), r"attention heads"),
    ("teacher-without-labels-task", distill("regression"), r"--teacher: the model's labels are unnamed \(LABEL_0\)"),
    ("teacher-no-head", export("no_config"), r"no config\.json"),
    # outputs
    (
        "output-is-a-file",
        lambda p, out: [*finetune("teacher")(p, out)[:-4], "--output", p["root"] / "a_file.txt"],
        r"--output .*a_file\.txt: exists and is a file",
    ),
    (
        "output-not-empty",
        lambda p, out: [*finetune("teacher")(p, out)[:-4], "--output", p["root"] / "full"],
        r"--output .*full: folder exists and is not empty",
    ),
    (
        "output-overlaps-teacher",
        lambda p, out: [*distill("teacher")(p, out)[:7], "--output", p["teacher"] / "x"],
        r"overlaps --teacher",
    ),
    (
        "output-under-a-file",
        lambda p, out: [*finetune("teacher")(p, out)[:-4], "--output", p["root"] / "a_file.txt" / "x"],
        r"--output .*cannot write there",
    ),
    # data
    (
        "data-dir-missing",
        lambda p, out: [
            "finetune",
            "--model",
            p["teacher"],
            "--task",
            "sst2",
            "--data-dir",
            p["root"] / "nodata",
            "--output",
            out,
        ],
        r"nodata",
    ),
    (
        "predict-input-missing",
        lambda p, out: ["predict", "--model", p["teacher"], "--input", p["root"] / "no.tsv", "--output", out / "p.tsv"],
        r"file not found: .*no\.tsv",
    ),
    ("predict-text-column-missing", predict("teacher", "--text-column", "review"), r"review"),
]


@pytest.mark.parametrize(("case", "command", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_nothing_left(
    case: str,
    command: Callable,
    expected: str,
    inputs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = sorted(p.name for p in inputs["root"].iterdir())
    out = tmp_path / "out"
    code, err = run_cli(command(inputs, out), monkeypatch)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert re.search(expected, lines[0]), lines[0]
    assert not out.exists()
    assert sorted(p.name for p in inputs["root"].iterdir()) == before
    assert not list(inputs["root"].glob("**/*.tmp")) and not list(tmp_path.glob("**/*.tmp"))


def test_catalogue_documents_every_case() -> None:
    text = DOCS.read_text()
    rows = set(re.findall(r"^\| `([a-z0-9-]+)` \|", text, flags=re.MULTILINE))
    assert rows == {case for case, _, _ in CASES}
    assert len(rows) >= 40


def test_disk_full_mid_run_is_one_line_and_leaves_nothing(
    inputs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformers import PreTrainedModel

    def full_disk(self: PreTrainedModel, folder: Path, *args: object, **kwargs: object) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "model.safetensors").write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device", str(Path(folder) / "model.safetensors"))

    monkeypatch.setattr(PreTrainedModel, "save_pretrained", full_disk)
    out = tmp_path / "out"
    code, err = run_cli(finetune("teacher")(inputs, out), monkeypatch)
    lines = [line for line in err.strip().splitlines() if "error" in line]  # after the progress bar
    assert code == 2 and len(lines) == 1, err
    lines = [lines[0][lines[0].index("error: ") :]]
    assert re.search(r"--output .*out: cannot write .*No space left on device", lines[0]), lines[0]
    assert not out.exists() and not list(tmp_path.glob("**/*.tmp"))


def test_outputs_honour_the_umask(inputs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    old = os.umask(0o027)
    try:
        code, err = run_cli(predict("teacher")(inputs, tmp_path), monkeypatch)
    finally:
        os.umask(old)
    assert code == 0, err
    assert (tmp_path / "p.tsv").stat().st_mode & 0o777 == 0o640


def test_evaluate_accepts_the_data_options(
    inputs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """evaluate takes the whole data group; --train is read by nothing (no error, no effect)."""
    args = evaluate("teacher")(inputs, tmp_path)
    code, err = run_cli([*args, "--train", inputs["data"] / "train.tsv", "--max-eval-samples", "8"], monkeypatch)
    assert code == 0, err
    base = run_cli([*evaluate("teacher")(inputs, tmp_path / "b"), "--max-eval-samples", "8"], monkeypatch)
    assert base[0] == 0
    assert (
        json.loads((tmp_path / "m.json").read_text())["eval"]
        == json.loads((tmp_path / "b" / "m.json").read_text())["eval"]
    )
