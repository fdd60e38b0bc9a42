"""TinyBERT's loss functions: pure, mask-aware, with the reduction stated.

Every intermediate loss is a mean squared error over the *valid* elements only: padded
positions never count, so a batch padded to length 128 gives the same loss as the same batch
padded to its longest member. A batch with no valid element gives 0 (not NaN).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def attention_mse(student: torch.Tensor, teacher: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """MSE between pre-softmax attention scores, averaged over heads and valid (query, key) pairs.

    Args:
        student: scores ``Q K^T / sqrt(d_k)`` before the mask, shape (B, H, L, L).
        teacher: same shape as ``student`` (same head count: the loss is per head).
        attention_mask: (B, L), 1 for real tokens, 0 for padding. A (query, key) pair counts only
            when both tokens are real, so padded query rows and padded key columns are excluded.

    Returns:
        Scalar: sum over valid pairs and heads of squared differences / (H * number of valid pairs).
    """
    if student.shape != teacher.shape:
        raise ValueError(
            f"attention scores differ in shape: student {tuple(student.shape)}, teacher {tuple(teacher.shape)}"
        )
    mask = attention_mask.to(student.dtype)
    pair_mask = mask[:, None, :, None] * mask[:, None, None, :]  # (B, 1, L, L)
    # Select before squaring, with where() rather than a product: a padded score may be huge or
    # infinite, and 0 * inf is NaN, in the loss and in its gradient.
    diff = torch.where(pair_mask.bool(), student - teacher.to(student.dtype), 0.0)  # (B, H, L, L)
    sq = diff**2
    count = pair_mask.sum() * student.shape[1]
    return sq.sum() / count.clamp_min(1.0)


def hidden_mse(student: torch.Tensor, teacher: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """MSE between (projected) student and teacher hidden states over real tokens.

    Args:
        student: (B, L, D), already projected to the teacher's width D.
        teacher: (B, L, D).
        attention_mask: (B, L), 1 for real tokens, 0 for padding.

    Returns:
        Scalar: sum of squared differences at real tokens / (D * number of real tokens).
    """
    if student.shape != teacher.shape:
        raise ValueError(
            f"hidden states differ in shape: student {tuple(student.shape)}, teacher {tuple(teacher.shape)}"
        )
    mask = attention_mask.to(student.dtype)[:, :, None]  # (B, L, 1)
    diff = torch.where(mask.bool(), student - teacher.to(student.dtype), 0.0)  # (B, L, D)
    sq = diff**2
    count = mask.sum() * student.shape[-1]
    return sq.sum() / count.clamp_min(1.0)


def soft_cross_entropy(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """Soft cross-entropy ``-softmax(z_T / t) . log_softmax(z_S / t)``, averaged over the batch.

    Args:
        student_logits: (B, C).
        teacher_logits: (B, C).
        temperature: t > 0; the paper uses t = 1. No t^2 factor, as in the paper.

    Returns:
        Scalar, the mean over B of the per-example cross-entropy.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    targets = F.softmax(teacher_logits.to(student_logits.dtype) / temperature, dim=-1)  # (B, C)
    log_probs = F.log_softmax(student_logits / temperature, dim=-1)  # (B, C)
    return -(targets * log_probs).sum(dim=-1).mean()


def regression_mse(student_pred: torch.Tensor, teacher_pred: torch.Tensor) -> torch.Tensor:
    """MSE between the student's and the teacher's predictions (regression tasks, e.g. STS-B).

    Args:
        student_pred: (B,) or (B, 1).
        teacher_pred: same shape.
    """
    return F.mse_loss(student_pred.reshape(-1), teacher_pred.reshape(-1).to(student_pred.dtype))
