"""The losses against closed-form values: masking, all-padding rows, temperature, reductions."""

from __future__ import annotations

import math

import pytest
import torch

from tinybert.losses import attention_mse, hidden_mse, regression_mse, soft_cross_entropy


def test_attention_mse_counts_only_real_query_and_key_pairs() -> None:
    # B=1, H=2, L=3; the third token is padding.
    mask = torch.tensor([[1, 1, 0]])
    student = torch.zeros(1, 2, 3, 3)
    teacher = torch.ones(1, 2, 3, 3)
    # Padded rows and columns hold huge values (as if the additive mask had been applied):
    # they must not enter the loss.
    teacher[..., 2, :] = 1e30
    teacher[..., :, 2] = -1e30
    student[..., 2, :] = torch.finfo(torch.float32).min
    loss = attention_mse(student, teacher, mask)
    # 2 heads x 2 x 2 valid pairs, each squared difference 1 -> mean 1.
    assert loss.item() == pytest.approx(1.0)


def test_attention_mse_closed_form_mean_over_heads_and_pairs() -> None:
    mask = torch.tensor([[1, 1], [1, 0]])
    student = torch.zeros(2, 1, 2, 2)
    teacher = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]], [[[5.0, 9.0], [9.0, 9.0]]]])
    # Valid squared errors: example 0 -> 1, 4, 9, 16; example 1 -> only (0, 0): 25.
    expected = (1 + 4 + 9 + 16 + 25) / 5
    assert attention_mse(student, teacher, mask).item() == pytest.approx(expected)


def test_attention_mse_all_padding_is_zero_and_has_finite_gradient() -> None:
    mask = torch.zeros(2, 4, dtype=torch.long)
    student = torch.randn(2, 3, 4, 4, requires_grad=True)
    teacher = torch.full((2, 3, 4, 4), float("inf"))
    loss = attention_mse(student, teacher, mask)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(student.grad).all()


def test_attention_mse_is_independent_of_padding_length() -> None:
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 4, 5, 5), torch.randn(2, 4, 5, 5)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    padded_s = torch.nn.functional.pad(student, (0, 3, 0, 3), value=123.0)
    padded_t = torch.nn.functional.pad(teacher, (0, 3, 0, 3), value=-7.0)
    padded_mask = torch.nn.functional.pad(mask, (0, 3))
    assert attention_mse(padded_s, padded_t, padded_mask).item() == pytest.approx(
        attention_mse(student, teacher, mask).item()
    )


def test_hidden_mse_closed_form_excludes_padding() -> None:
    mask = torch.tensor([[1, 0]])
    student = torch.tensor([[[1.0, 2.0, 3.0], [100.0, 100.0, 100.0]]])
    teacher = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    # Only the first token: (1 + 4 + 9) / 3.
    assert hidden_mse(student, teacher, mask).item() == pytest.approx(14 / 3)


def test_hidden_mse_all_padding_is_zero() -> None:
    loss = hidden_mse(torch.randn(1, 3, 4), torch.randn(1, 3, 4), torch.zeros(1, 3))
    assert loss.item() == 0.0


def test_soft_cross_entropy_uniform_targets() -> None:
    # Teacher indifferent between two classes, student too: -2 * 0.5 * log 0.5 = log 2.
    loss = soft_cross_entropy(torch.zeros(3, 2), torch.zeros(3, 2))
    assert loss.item() == pytest.approx(math.log(2))


def test_soft_cross_entropy_temperature() -> None:
    # With t = 2 the logits [2, 0] become [1, 0]: p = sigmoid(1). Student = teacher, so the loss is
    # the entropy of p.
    p = 1 / (1 + math.exp(-1))
    entropy = -(p * math.log(p) + (1 - p) * math.log(1 - p))
    logits = torch.tensor([[2.0, 0.0]])
    assert soft_cross_entropy(logits, logits, temperature=2.0).item() == pytest.approx(entropy, rel=1e-6)
    # At t = 1 it is the entropy of sigmoid(2), which is smaller.
    assert soft_cross_entropy(logits, logits, temperature=1.0).item() < entropy


def test_soft_cross_entropy_averages_over_batch() -> None:
    teacher = torch.tensor([[10.0, -10.0], [0.0, 0.0]])  # ~one-hot, then uniform
    student = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    # Both rows cost log 2 against a uniform student.
    assert soft_cross_entropy(student, teacher).item() == pytest.approx(math.log(2), rel=1e-5)


def test_soft_cross_entropy_rejects_bad_temperature() -> None:
    with pytest.raises(ValueError):
        soft_cross_entropy(torch.zeros(1, 2), torch.zeros(1, 2), temperature=0.0)


def test_regression_mse_to_teacher_prediction() -> None:
    student = torch.tensor([[1.0], [2.0]])
    teacher = torch.tensor([[0.0], [4.0]])
    assert regression_mse(student, teacher).item() == pytest.approx((1 + 4) / 2)


def test_hidden_mse_padding_with_infinite_values_keeps_gradient_finite() -> None:
    student = torch.randn(1, 3, 4, requires_grad=True)
    teacher = torch.zeros(1, 3, 4)
    teacher[0, 2] = float("inf")
    loss = hidden_mse(student, teacher, torch.tensor([[1, 1, 0]]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(student.grad).all()
    assert (student.grad[0, 2] == 0).all()
