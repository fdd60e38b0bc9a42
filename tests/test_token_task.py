"""Token classification (NER, issue 14): reading, alignment, the per-token soft loss, entity
metrics, pipeline-identical spans, and the commands end to end on a tiny random model."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForTokenClassification, BertTokenizerFast, pipeline

from builders import run_cli
from tinybert.config import DataConfig
from tinybert.data.glue import TaskSpec
from tinybert.errors import TinyBertError
from tinybert.tasks.base import get_task_type, per_example, task_type_for_data, text_batches
from tinybert.tasks.loading import load_data
from tinybert.tasks.token import (
    Sentence,
    align_labels,
    detect_scheme,
    entity_metrics,
    label_set,
    read_conll,
    read_tagged,
    read_tagged_jsonl,
    token_soft_cross_entropy,
)

TOKEN = get_task_type("token")

# A WordPiece vocabulary where some words have several pieces: london = lon ##don, acmes = acme ##s.
WORDS = ["john", "mary", "smith", "paris", "berlin", "acme", "globex", "lives", "in", "works", "at", "visited"]
WORDS += ["the", "and", "today", "city", "lon", "new", "york", "."]
PIECES = ["##don", "##s"]
NER_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *PIECES]
PERSONS, PLACES, ORGS = ["john", "mary", "smith"], ["paris", "berlin", "london"], ["acme", "globex", "acmes"]
LABELS = ("O", "B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER")


def ner_tokenizer() -> BertTokenizerFast:
    return BertTokenizerFast(vocab={w: i for i, w in enumerate(NER_VOCAB)}, do_lower_case=True)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------------------------
# Reading


CONLL_IOB2 = """-DOCSTART- -X- -X- O

John NNP B-NP B-PER
Smith NNP I-NP I-PER
lives VBZ B-VP O
in IN B-PP O
Paris NNP B-NP B-LOC

-DOCSTART- -X- -X- O

Acme NNP B-NP B-ORG
Globex NNP B-NP B-ORG


"""


def test_conll_reader_skips_docstart_and_trailing_blank_lines(tmp_path: Path) -> None:
    sentences = read_conll(write(tmp_path / "train.txt", CONLL_IOB2))
    assert [s.words for s in sentences] == [["John", "Smith", "lives", "in", "Paris"], ["Acme", "Globex"]]
    assert sentences[0].tags == ["B-PER", "I-PER", "O", "O", "B-LOC"]
    assert sentences[1].tags == ["B-ORG", "B-ORG"] and sentences[1].where.endswith("train.txt:11")
    assert detect_scheme(sentences) == "IOB2"
    assert label_set(sentences) == ("O", "B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER")
    # other columns: the chunk column as the tag, a file without a final newline
    chunks = read_conll(write(tmp_path / "c.txt", "John NNP B-NP B-PER\nSmith NNP I-NP I-PER"), tag_column="2")
    assert chunks[0].tags == ["B-NP", "I-NP"]


def test_iob1_is_detected_and_converted_to_iob2(tmp_path: Path) -> None:
    iob1 = "John I-PER\nSmith I-PER\nMary B-PER\nin O\nParis I-LOC\nBerlin B-LOC\n\nAcme I-ORG\n"
    sentences = read_tagged(write(tmp_path / "iob1.txt", iob1))
    assert sentences[0].tags == ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-LOC"]
    assert sentences[1].tags == ["B-ORG"]
    assert detect_scheme([Sentence(["a", "b"], ["O", "I-LOC"])]) == "IOB1"
    assert detect_scheme([Sentence(["a", "b"], ["B-PER", "I-LOC"])]) == "IOB1"  # I- of another type
    assert detect_scheme([Sentence(["a", "b"], ["B-LOC", "I-LOC"])]) == "IOB2"


def test_malformed_lines_are_one_line_errors_with_their_line_number(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.txt", "John B-PER\nSmith\nlives O\n")
    with pytest.raises(TinyBertError, match=r"bad\.txt:2: expected a token and a tag column") as err:
        read_conll(bad)
    assert "\n" not in str(err.value)
    with pytest.raises(TinyBertError, match=r"tag\.txt:3: tag 'PER' is not O, B-TYPE or I-TYPE"):
        read_conll(write(tmp_path / "tag.txt", "\nJohn B-PER\nSmith PER\n"))
    with pytest.raises(TinyBertError, match=r"--token-column 'x': expected a column number"):
        read_conll(write(tmp_path / "ok.txt", "John B-PER\n"), token_column="x")


def test_jsonl_reader(tmp_path: Path) -> None:
    rows = [{"tokens": ["John", "lives"], "tags": ["B-PER", "O"]}, {"tokens": [], "tags": []}]
    path = write(tmp_path / "t.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    assert [(s.words, s.tags) for s in read_tagged_jsonl(path)] == [(["John", "lives"], ["B-PER", "O"])]
    other = write(tmp_path / "o.jsonl", json.dumps({"w": ["Paris"], "ner": ["B-LOC"]}) + "\n")
    assert read_tagged(other, token_column="w", tag_column="ner")[0].tags == ["B-LOC"]
    short = write(tmp_path / "s.jsonl", "\n" + json.dumps({"tokens": ["a", "b"], "tags": ["O"]}) + "\n")
    with pytest.raises(TinyBertError, match=r"s\.jsonl:2: 2 tokens but 1 tags"):
        read_tagged_jsonl(short)


def test_conll2003_folder_and_label_agreement(tmp_path: Path) -> None:
    folder = tmp_path / "conll"
    folder.mkdir()
    write(folder / "train.txt", CONLL_IOB2)
    write(folder / "valid.txt", "Mary B-PER\nin O\nBerlin B-LOC\n")
    data = DataConfig(task="conll2003", data_dir=folder)
    assert task_type_for_data(data).name == "token"
    task = load_data(data, need_train=True)
    assert task.task_type == "token" and task.spec.label_names == LABELS and task.spec.main_metric == "f1"
    assert list(task.evals) == ["dev"] and len(task.train) == 2
    write(folder / "test.txt", "Acme B-ORG\n")
    assert list(load_data(data, need_train=False).evals) == ["dev", "test"]
    assert list(load_data(data, need_train=True).evals) == ["dev"]  # test is never scored in training
    write(folder / "valid.txt", "Mary B-PER\nin O\nBerlin B-MISC\n")
    with pytest.raises(TinyBertError, match=r"valid\.txt:1: tag 'B-MISC' is not among the training data's tags"):
        load_data(data, need_train=True)


# ------------------------------------------------------------------------------------------------
# Alignment and windows


def test_alignment_by_hand() -> None:
    label2id = {name: i for i, name in enumerate(LABELS)}
    # [CLS] john london london-piece acme s [SEP]: the first piece of each word carries its tag
    word_ids = [None, 0, 1, 1, 2, 2, None]
    tags = ["B-PER", "B-LOC", "B-ORG"]
    assert align_labels(word_ids, tags, label2id) == [-100, 3, 1, -100, 2, -100, -100]

    tokenizer = ner_tokenizer()
    sentence = Sentence(["John", "lives", "in", "London", "at", "Acmes"], ["B-PER", "O", "O", "B-LOC", "O", "B-ORG"])
    (feature,) = TOKEN.featurize([sentence], tokenizer, 32, label2id)
    pieces = tokenizer.convert_ids_to_tokens(feature["input_ids"])
    assert pieces == ["[CLS]", "john", "lives", "in", "lon", "##don", "at", "acme", "##s", "[SEP]"]
    assert feature["labels"] == [-100, 3, 0, 0, 1, -100, 0, 2, -100, -100]
    assert feature["first_piece"] == [0, 1, 1, 1, 1, 0, 1, 1, 0, 0]
    assert feature["soft_mask"] == feature["first_piece"]
    assert feature["word_ids"] == [-1, 0, 1, 2, 3, 3, 4, 5, 5, -1]
    # character offsets of the pieces in "John lives in London at Acmes"
    assert feature["offsets"][4:6] == [[14, 17], [17, 20]]
    sentence.soft_all = True
    (all_pieces,) = TOKEN.featurize([sentence], tokenizer, 32, label2id)
    assert all_pieces["soft_mask"] == [0, 1, 1, 1, 1, 1, 1, 1, 1, 0]


def test_long_sentences_are_split_into_windows_between_words(caplog: pytest.LogCaptureFixture) -> None:
    label2id = {name: i for i, name in enumerate(LABELS)}
    words = ["London", "John", "in"] * 5  # 4 pieces per 3 words: 20 pieces
    tags = ["B-LOC", "B-PER", "O"] * 5
    short = Sentence(["John"], ["B-PER"])
    with caplog.at_level("WARNING"):
        features = TOKEN.featurize([short, Sentence(words, tags)], ner_tokenizer(), 9, label2id)  # room: 7 pieces
    assert "1 of 2 sentences are longer than 7 pieces and were split into windows (4 features)" in caplog.text
    assert [f["example_index"] for f in features] == [0, 1, 1, 1]  # 7 + 7 + 6 pieces
    assert all(len(f["input_ids"]) <= 9 for f in features)
    # every word is scored exactly once, with its own tag, in order
    scored = [(w, lab) for f in features[1:] for w, lab in zip(f["word_ids"], f["labels"], strict=True) if lab != -100]
    assert [w for w, _ in scored] == list(range(15))
    assert [LABELS[lab] for _, lab in scored] == tags


# ------------------------------------------------------------------------------------------------
# Loss and metrics


def test_token_soft_cross_entropy_in_closed_form_with_masks() -> None:
    student = torch.tensor([[[2.0, 0.0], [0.0, 0.0], [9.0, -9.0]], [[0.0, 1.0], [5.0, 5.0], [1e4, 0.0]]])
    teacher = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 9.0]], [[2.0, 0.0], [0.0, 0.0], [float("nan"), 0.0]]])
    mask = torch.tensor([[True, True, False], [True, False, False]])  # 3 positions count

    def ce(s: list[float], t: list[float], temp: float) -> float:
        p = np.exp(np.array(t) / temp) / np.exp(np.array(t) / temp).sum()
        log_q = np.array(s) / temp - np.log(np.exp(np.array(s) / temp).sum())
        return float(-(p * log_q).sum())

    for temp in (1.0, 2.0):
        expected = (ce([2, 0], [0, 0], temp) + ce([0, 0], [1, 0], temp) + ce([0, 1], [2, 0], temp)) / 3
        got = token_soft_cross_entropy(student, teacher, mask, temp)
        assert got.item() == pytest.approx(expected, rel=1e-6)
    # at t = 1 a uniform target on two classes gives log 2 + ...; the masked NaN never leaks
    assert math.isfinite(token_soft_cross_entropy(student, teacher, mask).item())
    assert token_soft_cross_entropy(student, teacher, torch.zeros(2, 3, dtype=torch.bool)).item() == 0.0
    # the task type's loss is this one over its view's mask
    assert TOKEN.soft_loss([(student, mask)], [teacher], 2.0, False).item() == pytest.approx(
        token_soft_cross_entropy(student, teacher, mask, 2.0).item()
    )
    # hard loss: cross-entropy at the labelled positions only
    labels = torch.tensor([[0, -100, -100], [1, -100, -100]])
    expected_hard = (-torch.log_softmax(student[0, 0], -1)[0] - torch.log_softmax(student[1, 0], -1)[1]) / 2
    assert TOKEN.hard_loss([(student, mask)], labels, False).item() == pytest.approx(expected_hard.item())


def test_entity_metrics_by_hand() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O", "O"]]
    m = entity_metrics(gold, pred)
    # gold entities: PER(0-1), LOC(3), ORG(0-1); predicted: PER(0-1) right, ORG(3) wrong, ORG(0) wrong span
    assert m["precision"] == pytest.approx(1 / 3) and m["recall"] == pytest.approx(1 / 3)
    assert m["f1"] == pytest.approx(1 / 3)
    assert m["PER_f1"] == 1.0 and m["LOC_recall"] == 0.0 and m["ORG_precision"] == 0.0 and m["ORG_support"] == 1
    assert m["accuracy"] == pytest.approx(5 / 7)
    # the CoNLL script's chunking: an entity may start with I- (IOB1), and B- of another type ends one
    m = entity_metrics([["B-PER", "I-PER", "O"]], [["I-PER", "I-PER", "O"]])
    assert m["f1"] == 1.0
    m = entity_metrics([["B-PER", "I-PER"]], [["B-PER", "I-LOC"]])  # PER(0) + LOC(1): 0 of 1 right, 2 predicted
    assert (m["precision"], m["recall"], m["f1"]) == (0.0, 0.0, 0.0)
    # from per-example views: -100 positions are not scored
    spec = load_spec()
    scores = np.eye(len(LABELS))[[0, 3, 6, 0, 1]] * 5.0  # (L, C): O B-PER I-PER O B-LOC
    gold_ids = np.array([-100, 3, 6, -100, 4])  # last word gold I-LOC (IOB1 start)
    metrics = TOKEN.metrics(spec, [[scores]], [gold_ids], None)
    assert metrics["f1"] == pytest.approx(1.0) and metrics["accuracy"] == pytest.approx(2 / 3)


def load_spec() -> TaskSpec:
    return TaskSpec("tagging", False, LABELS, "f1", 128, False, None)


# ------------------------------------------------------------------------------------------------
# Predictions: the spans of pipeline("token-classification", aggregation_strategy="simple")


def tiny_token_model(folder: Path, seed: int = 0, layers: int = 2) -> Path:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(NER_VOCAB),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={n: i for i, n in enumerate(LABELS)},
    )
    model = BertForTokenClassification(config)
    with torch.no_grad():  # big random head: varied tags, so the grouping is exercised
        model.classifier.weight.mul_(40.0)
    model.save_pretrained(folder)
    ner_tokenizer().save_pretrained(folder)
    return folder


def test_postprocess_gives_the_pipelines_spans(tmp_path: Path) -> None:
    folder = tiny_token_model(tmp_path / "m")
    model = BertForTokenClassification.from_pretrained(folder).eval()
    tokenizer = BertTokenizerFast.from_pretrained(folder)
    ner = pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="simple")
    rng = random.Random(0)
    texts = [
        " ".join(rng.choice([*WORDS, "London", "Acmes", "xyz"]) for _ in range(rng.randint(1, 12))) for _ in range(40)
    ]
    texts += ["John  Smith lives in   London .", "Mary visited New York and Berlin today"]
    found = 0
    for batch, examples, features in text_batches(TOKEN, tokenizer, [[t] for t in texts], 64, 8):
        with torch.inference_mode():
            logits = model(**{k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}).logits
        views = per_example(TOKEN.views({"logits": logits}, batch), batch["attention_mask"])
        rows = TOKEN.postprocess(views, examples, features, model.config)
        for example, row in zip(examples, rows, strict=True):
            expected = ner(example.text)
            assert len(row["entities"]) == len(expected), example.text
            for got, want in zip(row["entities"], expected, strict=True):
                assert got["entity_group"] == want["entity_group"] and got["word"] == want["word"]
                assert (got["start"], got["end"]) == (want["start"], want["end"])
                assert got["score"] == pytest.approx(float(want["score"]), abs=1e-5)
            found += len(expected)
    assert found > 20  # the comparison covered many spans


def test_windows_of_one_text_stay_in_one_batch(tmp_path: Path) -> None:
    tokenizer = ner_tokenizer()
    texts = [["John"], [" ".join(["London", "John"] * 6)], ["Mary"]]  # the second: 18 pieces
    batches = text_batches(TOKEN, tokenizer, texts, 8, 2)  # room 6: the long text has 3 windows
    assert [len(e) for _, e, _ in batches] == [2, 1]  # batch_size rows per batch
    assert [len(f) for _, _, f in batches] == [4, 1]  # ... with all the windows of each row
    assert [b["input_ids"].shape[0] for b, _, _ in batches] == [4, 1]
    assert [f["example_index"] for f in batches[0][2]] == [0, 1, 1, 1]


# ------------------------------------------------------------------------------------------------
# The commands end to end on a tiny random model


SPANS = {
    "PER": ["john", "mary", "john smith"],
    "LOC": ["paris", "london", "new york"],
    "ORG": ["acme", "globex", "acmes"],
}


def tagged_sentences(n: int, seed: int) -> list[dict]:
    """Sentences whose tags follow from the words: one-word entities and two fixed two-word ones."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        words, tags = [], []
        for _ in range(rng.randint(2, 6)):
            kind = rng.choice(["O", "O", "PER", "LOC", "ORG"])
            if kind == "O" or (tags and tags[-1] != "O"):  # entities never touch
                words.append(rng.choice(["lives", "in", "works", "at", "the", "and", "today", "city"]))
                tags.append("O")
            else:
                span = rng.choice(SPANS[kind]).split()
                words += span
                tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(span) - 1)
        rows.append({"tokens": words, "tags": tags})
    return rows


@pytest.fixture(scope="module")
def ner_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ner")
    for name, n, seed in (("train.jsonl", 96, 1), ("dev.jsonl", 32, 2)):
        write(root / name, "".join(json.dumps(r) + "\n" for r in tagged_sentences(n, seed)))
    # the dev set again as CoNLL columns: token POS tag
    conll = "\n\n".join(
        "\n".join(f"{w} X {t}" for w, t in zip(r["tokens"], r["tags"], strict=True)) for r in tagged_sentences(32, 2)
    )
    write(root / "dev.txt", "-DOCSTART- X O\n\n" + conll + "\n")
    rows = [{"id": i, "text": " ".join(r["tokens"])} for i, r in enumerate(tagged_sentences(6, 3))]
    write(root / "predict.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    tiny_token_model(root / "base", layers=4)
    with torch.no_grad():  # back to a normal head for training
        model = BertForTokenClassification.from_pretrained(root / "base")
        model.classifier.weight.div_(40.0)
        model.save_pretrained(root / "base")
    return root


def test_cli_finetune_distill_evaluate_export_predict(
    ner_files: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = ["--task-type", "token", "--train", ner_files / "train.jsonl", "--dev", ner_files / "dev.jsonl"]
    teacher, student = tmp_path / "teacher", tmp_path / "student"
    code, err = run_cli(
        ["finetune", "--model", ner_files / "base", "--output", teacher, *data, "--epochs", "8",
         "--learning-rate", "3e-3", "--batch-size", "8"], monkeypatch,
    )  # fmt: skip
    assert code == 0, err
    t_metrics = json.loads((teacher / "metrics.json").read_text())
    assert t_metrics["eval"]["dev"]["f1"] > 0.8 and {"precision", "recall", "PER_f1"} <= set(t_metrics["eval"]["dev"])
    code, err = run_cli(
        ["distill", "--teacher", teacher, "--output", student, *data, "--layers", "2", "--init", "teacher",
         "--intermediate-epochs", "1", "--intermediate-lr", "1e-3", "--prediction-epochs", "8",
         "--prediction-lr", "3e-3", "--batch-size", "8"], monkeypatch,
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads((student / "metrics.json").read_text())
    assert summary["teacher"]["eval"]["dev"]["f1"] == pytest.approx(t_metrics["eval"]["dev"]["f1"])
    assert summary["student"]["eval"]["dev"]["f1"] > 0.7
    assert summary["features"] == {"train": {"examples": 96, "features": 96}, "dev": {"examples": 32, "features": 32}}
    config = json.loads((student / "config.json").read_text())
    assert config["architectures"] == ["BertForTokenClassification"] and config["id2label"]["0"] == "O"

    # evaluate the dev set as CoNLL columns: the same words, the same score
    out = tmp_path / "eval.json"
    code, err = run_cli(
        ["evaluate", "--model", student, "--task-type", "token", "--dev", ner_files / "dev.txt",
         "--output", out], monkeypatch,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out.read_text())["eval"]["dev"]["f1"] == pytest.approx(summary["student"]["eval"]["dev"]["f1"])

    # export: ONNX int8 and fp32, parity as token agreement
    export = tmp_path / "export"
    code, err = run_cli(["export", "--model", student, "--output", export], monkeypatch)
    assert code == 0, err
    info = json.loads((export / "export.json").read_text())
    assert info["task_type"] == "token" and info["outputs"] == ["logits"]
    assert info["parity"]["argmax_agreement"] == 1.0 and info["parity"]["passed"]
    code, err = run_cli(
        ["export", "--model", student, "--output", tmp_path / "int8", "--quantize", "int8"], monkeypatch
    )
    assert code == 0, err
    assert json.loads((tmp_path / "int8" / "export.json").read_text())["parity"]["argmax_agreement"] > 0.9

    # predict: the pipeline's spans, the same from the export as from the PyTorch student
    results = {}
    for name, model in (("torch", student), ("onnx", export)):
        results[name] = tmp_path / f"{name}.jsonl"
        code, err = run_cli(
            ["predict", "--model", model, "--input", ner_files / "predict.jsonl", "--output", results[name]],
            monkeypatch,
        )
        assert code == 0, err
    rows = [json.loads(line) for line in results["torch"].read_text().splitlines()]
    onnx_rows = [json.loads(line) for line in results["onnx"].read_text().splitlines()]
    ner = pipeline("token-classification", model=str(student), aggregation_strategy="simple")
    spans = 0
    for row, onnx_row in zip(rows, onnx_rows, strict=True):
        want = [(e["entity_group"], e["start"], e["end"]) for e in ner(row["text"])]
        assert [(e["entity_group"], e["start"], e["end"]) for e in row["entities"]] == want
        assert [e["entity_group"] for e in onnx_row["entities"]] == [w[0] for w in want]
        spans += len(want)
    assert spans >= 6  # the student finds the entities of the six rows


def test_cli_refuses_a_teacher_with_other_labels(
    ner_files: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conll = ner_files / "dev.txt"
    other = tmp_path / "other.txt"
    other.write_text(conll.read_text().replace("B-ORG", "B-MISC").replace("I-ORG", "I-MISC"))
    code, err = run_cli(
        ["evaluate", "--model", ner_files / "base", "--task-type", "token", "--dev", other], monkeypatch
    )
    assert code != 0 and "labels" in err and "MISC" in err


def test_augment_replaces_o_words_and_keeps_tags_and_entities(tmp_path: Path) -> None:
    from builders import make_mlm_model
    from tinybert import augment

    model = make_mlm_model(tmp_path / "mlm")
    rows = [
        ("John B-PER\nSmith I-PER\nwas O\na O\nfilm O\nstory O\n", ["John", "Smith"]),
        ("the O\nmovie O\nParis B-LOC\nplot O\n", ["Paris"]),
    ]
    train = write(tmp_path / "train.txt", "-DOCSTART- O\n\n" + "\n".join(text for text, _ in rows))
    out = tmp_path / "aug.txt"
    summary = augment(str(model), out, task_type="token", train=train, n=4, p=1.0, k=3, progress=False)
    assert summary.examples == 2 and summary.variants > 0 and "left alone" in summary.entity_words
    sentences = read_conll(out)
    assert len(sentences) == 2 + summary.variants
    originals = read_conll(train)
    by_tags: dict[tuple, list[Sentence]] = {}
    for s in sentences:
        by_tags.setdefault(tuple(s.tags), []).append(s)
    for original in originals:
        group = by_tags[tuple(original.tags)]
        assert group[0].words == original.words and len(group) > 1
        for variant in group[1:]:
            assert len(variant.words) == len(original.words)
            for word, new, tag in zip(original.words, variant.words, variant.tags, strict=True):
                if tag != "O" or word.lower() in {"was", "a", "the"}:
                    assert new == word  # entity words and stop words are left alone
            assert variant.words != original.words
    with pytest.raises(TinyBertError, match="expected a CoNLL"):
        augment(str(model), tmp_path / "aug.jsonl", task_type="token", train=train, progress=False)
