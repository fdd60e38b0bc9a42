"""Which teacher layer each student layer learns from.

Indexing rule (owned here, used everywhere else through these helpers):

* Layers are numbered 1..L for the Transformer layers and 0 for the embedding layer, as in the
  TinyBERT paper.
* Hugging Face ``hidden_states`` has L+1 entries: ``hidden_states[0]`` is the embedding output
  and ``hidden_states[l]`` the output of layer ``l``. So a layer number *is* its hidden-state index.
* ``attentions`` has L entries: the attention of layer ``l`` is ``attentions[l - 1]``.
  Layer 0 (embeddings) has no attention.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tinybert.errors import TinyBertError


@dataclass(frozen=True)
class LayerMap:
    """``teacher_layers[m - 1]`` is g(m), the teacher layer that student layer ``m`` (1-based) learns from.

    The embedding layer always maps to the embedding layer (g(0) = 0) and is not stored.
    """

    teacher_layers: tuple[int, ...]
    num_teacher_layers: int

    def __post_init__(self) -> None:
        if not self.teacher_layers:
            raise TinyBertError("layer map: the student needs at least one layer")
        for m, t in enumerate(self.teacher_layers, start=1):
            if not 1 <= t <= self.num_teacher_layers:
                raise TinyBertError(
                    f"layer map: student layer {m} maps to teacher layer {t}, "
                    f"expected a layer between 1 and {self.num_teacher_layers}"
                )
        if any(b <= a for a, b in zip(self.teacher_layers, self.teacher_layers[1:], strict=False)):
            raise TinyBertError(f"layer map: {','.join(map(str, self.teacher_layers))} must be strictly increasing")

    @property
    def num_student_layers(self) -> int:
        return len(self.teacher_layers)

    def hidden_pairs(self) -> list[tuple[int, int]]:
        """(student, teacher) indices into ``hidden_states``, embeddings first: [(0, 0), (1, g(1)), ...]."""
        return [(0, 0)] + [(m, t) for m, t in enumerate(self.teacher_layers, start=1)]

    def attention_pairs(self) -> list[tuple[int, int]]:
        """(student, teacher) indices into ``attentions`` (layer l is ``attentions[l - 1]``)."""
        return [(m - 1, t - 1) for m, t in enumerate(self.teacher_layers, start=1)]

    def describe(self) -> str:
        """Human-readable form, e.g. ``"emb->emb, 1->3, 2->6, 3->9, 4->12"``."""
        return ", ".join(["emb->emb"] + [f"{m}->{t}" for m, t in enumerate(self.teacher_layers, start=1)])


def uniform_map(num_student_layers: int, num_teacher_layers: int) -> LayerMap:
    """The paper's uniform strategy g(m) = m * N / M, rounded half up for any M <= N.

    Exact divisors give the paper's map (4 from 12: 3, 6, 9, 12); otherwise the nearest layer
    (4 from 6: 2, 3, 5, 6). The last student layer always maps to the last teacher layer.
    """
    m_layers, n_layers = num_student_layers, num_teacher_layers
    if m_layers < 1:
        raise TinyBertError(f"student layers: got {m_layers}, expected at least 1")
    if m_layers > n_layers:
        raise TinyBertError(
            f"student has {m_layers} layers but the teacher only {n_layers}: the uniform layer map "
            "needs student layers <= teacher layers (or give --layer-map explicitly)"
        )
    # floor(m * N / M + 1/2) in integer arithmetic.
    layers = tuple((2 * m * n_layers + m_layers) // (2 * m_layers) for m in range(1, m_layers + 1))
    return LayerMap(layers, n_layers)


def parse_layer_map(spec: str | Sequence[int], num_student_layers: int, num_teacher_layers: int) -> LayerMap:
    """An explicit map such as ``"3,6,9,12"``: one teacher layer per student layer, 1-based."""
    if isinstance(spec, str):
        try:
            layers = tuple(int(x) for x in spec.replace(" ", "").split(",") if x)
        except ValueError:
            raise TinyBertError(
                f"--layer-map {spec!r}: expected comma-separated teacher layer numbers, e.g. 3,6,9,12"
            ) from None
    else:
        layers = tuple(int(x) for x in spec)
    if len(layers) != num_student_layers:
        raise TinyBertError(
            f"--layer-map {','.join(map(str, layers))}: got {len(layers)} entries, expected one per "
            f"student layer ({num_student_layers})"
        )
    return LayerMap(layers, num_teacher_layers)
