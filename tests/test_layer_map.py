"""The layer mapping and the L+1 (hidden states) vs L (attentions) indexing rule."""

from __future__ import annotations

import re

import pytest

from tinybert.errors import TinyBertError
from tinybert.models.layer_map import parse_layer_map, uniform_map


@pytest.mark.parametrize(
    ("student", "teacher", "expected"),
    [
        (4, 12, (3, 6, 9, 12)),  # TinyBERT4 from BERT-base, as in the paper
        (6, 12, (2, 4, 6, 8, 10, 12)),
        (3, 6, (2, 4, 6)),
        (4, 6, (2, 3, 5, 6)),  # not a divisor: nearest layer, rounded half up
        (5, 12, (2, 5, 7, 10, 12)),
        (6, 6, (1, 2, 3, 4, 5, 6)),
        (1, 12, (12,)),
    ],
)
def test_uniform_map(student: int, teacher: int, expected: tuple[int, ...]) -> None:
    assert uniform_map(student, teacher).teacher_layers == expected


def test_indices_into_hidden_states_and_attentions() -> None:
    lm = uniform_map(4, 12)
    # hidden_states[0] is the embedding output, hidden_states[l] the output of layer l.
    assert lm.hidden_pairs() == [(0, 0), (1, 3), (2, 6), (3, 9), (4, 12)]
    # attentions[l - 1] belongs to layer l.
    assert lm.attention_pairs() == [(0, 2), (1, 5), (2, 8), (3, 11)]
    assert lm.describe() == "emb->emb, 1->3, 2->6, 3->9, 4->12"


def test_explicit_map() -> None:
    assert parse_layer_map("1, 2,12", 3, 12).teacher_layers == (1, 2, 12)
    assert parse_layer_map([4, 8], 2, 12).teacher_layers == (4, 8)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("3,6,9", "expected one per student layer (4)"),
        ("3,6,x,12", "expected comma-separated"),
        ("0,6,9,12", "between 1 and 12"),
        ("3,6,9,13", "between 1 and 12"),
        ("3,9,6,12", "strictly increasing"),
    ],
)
def test_explicit_map_errors(spec: str, message: str) -> None:
    with pytest.raises(TinyBertError, match=re.escape(message)):
        parse_layer_map(spec, 4, 12)


def test_student_deeper_than_teacher_is_an_error() -> None:
    with pytest.raises(TinyBertError, match="student layers <= teacher layers"):
        uniform_map(8, 6)
