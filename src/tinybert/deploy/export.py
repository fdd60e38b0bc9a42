"""Export a model for deployment: ONNX (optionally int8) or PyTorch int8, with a parity check.

The export folder is self-contained: the model file, ``config.json`` (labels), the tokenizer files,
``export.json`` (what was exported, how, from what) and ``parity.json`` (how closely the export
reproduces the PyTorch model's outputs on real text). :mod:`tinybert.deploy.runtime` loads it back.
The ONNX outputs are the model's task type's ``output_names`` (sequence classifiers: ``logits``);
parity compares the task type's prediction views of every output.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from tinybert.config import KEEP_FP32_AUTO, SPLIT_AUTO, SPLIT_ON, DataConfig, ExportConfig
from tinybert.data.glue import GLUE_TASKS, normalize_task_name
from tinybert.data.readers import Example, load_glue, read_table
from tinybert.data.rows import guess_text_column
from tinybert.deploy.outliers import input_ranges, split_outliers
from tinybert.deploy.quantize import matrix_kinds, nodes_of, quantize_onnx, weight_matmuls
from tinybert.deploy.runtime import (
    EXPORT_INFO,
    ONNX_FILES,
    TORCH_INT8_FILE,
    InferenceModel,
    load_inference_model,
    quantize_torch_int8,
)
from tinybert.errors import TinyBertError
from tinybert.io.environment import environment
from tinybert.io.outputs import atomic_folder, output_folder, write_json
from tinybert.results import ExportResult, parse
from tinybert.tasks.base import TaskType, get_task_type, per_example, text_batches
from tinybert.tasks.loading import load_data

Batch = tuple[dict[str, torch.Tensor], list, list[dict]]
"""A padded batch with its examples and features (:func:`tinybert.tasks.base.text_batches`)."""

log = logging.getLogger(__name__)

__all__ = ["ExportConfig", "Parity", "parity_check", "run_export"]

PARITY_BATCH_SIZE = 8
PARITY_LENGTH = 128
"""Token limit of the parity inputs when --max-seq-length is not given."""

# Parity thresholds (stated in the README): fp32 exports must reproduce the logits to float
# rounding and every prediction; int8 changes logits by design, so only the predictions are held
# to a bar (or, for a regression model, the predicted value to a tolerance).
FP32_MAX_DIFF = 1e-3
INT8_MIN_AGREEMENT = 0.95
INT8_REGRESSION_MAX_DIFF = 0.25

# Sample text for the parity check when no file or task is given: varied lengths, punctuation,
# casing, negation, numbers and rare words, so padding and truncation paths are exercised.
SAMPLE_TEXTS = (
    "A gorgeous, witty film.",
    "This was the worst meal I have eaten in years, and the service was slow.",
    "not bad at all",
    "I can't say I enjoyed it, but the acting is superb.",
    "The battery lasts 3 days on a single charge!",
    "Terrible.",
    "An uneven, overlong drama that never quite finds its footing, despite two strong lead performances.",
    "The package arrived on time and everything works as described.",
    "Why would anyone pay $40 for this?",
    "She said the results were inconclusive.",
    "Absolutely loved every minute of it",
    "meh",
    "The sequel is funnier, sharper and far more ambitious than the original.",
    "It is neither good nor bad; it simply exists.",
    "Customer support never answered my three emails.",
    "The hotel room was clean, quiet, and surprisingly spacious for the price.",
    "What a waste of a talented cast.",
    "Quite possibly the most boring lecture ever delivered.",
    "I would recommend this to anyone who likes slow-burning mysteries.",
    "The update broke Bluetooth pairing on my phone.",
    "Five stars.",
    "The plot twists are predictable, yet the dialogue keeps things lively.",
    "Nothing about this product feels cheap.",
    "He left the meeting early without explaining why.",
    "A triumph of style over substance.",
    "The soup was cold and the bread was stale.",
    "Thanks to the clear instructions, setup took under ten minutes.",
    "I'm not sure whether to laugh or cry.",
    "The museum's new wing is a breathtaking space full of light.",
    "Avoid.",
    "It rained all week, but the guides made the trip memorable anyway.",
    "The film's second half drags badly, though the ending almost redeems it.",
)


@dataclass
class Parity:
    """How closely an export reproduces the PyTorch model on ``samples`` real inputs."""

    samples: int
    source: str
    max_abs_diff: float
    mean_abs_diff: float
    argmax_agreement: float | None  # None for a regression (single-output) model
    max_diff_allowed: float | None
    min_agreement_allowed: float | None
    failures: list[str] = field(default_factory=list)
    outputs_max_abs_diff: dict[str, float] = field(default_factory=dict)
    """Largest |difference| per output name."""
    decoded_agreement: float | None = None
    """Share of rows whose decoded predictions agree (the bar for task types with ``decoded_parity``: QA spans)."""
    min_similarity: float | None = None
    """The lowest similarity of one example's views (the bar for task types with ``parity_similarity``:
    the cosine of sentence embeddings); ``min_agreement_allowed`` is then the lowest allowed."""

    @property
    def passed(self) -> bool:
        return not self.failures


def _parity_texts(config: ExportConfig, task_type: TaskType) -> tuple[list[list[str]], str]:
    """The parity check's input texts (1 or 2 per row) and where they come from; ``task_type`` (the
    model's) may give default columns of a sample file, or sample texts of its own."""
    if config.data.task is not None and normalize_task_name(config.data.task) not in GLUE_TASKS:
        # a task another task type reads (e.g. conll2003): its evaluation splits as rows of text
        limits = DataConfig(task=config.data.task, data_dir=config.data.data_dir, max_eval_samples=config.samples)
        task = load_data(limits, need_train=False)
        examples = [ex for split in task.evals.values() for ex in split][: config.samples]
        reader = get_task_type(task.task_type)
        where = f"{config.data.task} {', '.join(task.evals)} ({config.data.data_dir})"
        return [reader.texts(ex) for ex in examples], where
    if config.data.task is not None:
        data = load_glue(config.data.task, config.data.data_dir, splits=("dev",), max_samples={"eval": config.samples})
        examples = [ex for split in data.evals.values() for ex in split][: config.samples]
        return [_texts(ex) for ex in examples], f"{config.data.task} dev ({config.data.data_dir})"
    own_reader = getattr(task_type, "sample_rows", None)
    if config.sample_file is not None and own_reader is not None:  # e.g. sentence embeddings: a text file
        return own_reader(config.sample_file, config.data.text_columns, config.samples), str(config.sample_file)
    if config.sample_file is not None:
        columns = (
            config.data.text_columns
            or getattr(task_type, "text_columns", None)
            or guess_text_column(config.sample_file)
        )
        examples = read_table(config.sample_file, columns, None, max_samples=config.samples)
        return [_texts(ex) for ex in examples], str(config.sample_file)
    samples = getattr(task_type, "sample_texts", None)
    if samples:
        return [list(t) for t in samples[: config.samples]], "built-in examples of the task type"
    texts = [SAMPLE_TEXTS[i % len(SAMPLE_TEXTS)] for i in range(min(config.samples, len(SAMPLE_TEXTS)))]
    return [[t] for t in texts], "built-in sentences"


def _texts(example: Example) -> list[str]:
    return [example.text_a] if example.text_b is None else [example.text_a, example.text_b]


def _views(model: InferenceModel, batch: dict[str, torch.Tensor]) -> list[list[tuple[np.ndarray, np.ndarray | None]]]:
    """``model``'s prediction views on ``batch``: ``[view][example] -> (scores, mask)``, per-position
    ones cut to the example's length (see :func:`tinybert.tasks.base.per_example`)."""
    outputs = {k: torch.from_numpy(v) for k, v in model.outputs(batch).items()}
    views = model.task_type.views(outputs, batch)
    scores = per_example(views, batch["attention_mask"])
    out = []
    for (_, mask), arrays in zip(views, scores, strict=True):
        masks = [None] * len(arrays) if mask is None else per_example([(mask, mask)], batch["attention_mask"])[0]
        out.append(list(zip(arrays, masks, strict=True)))
    return out


def _agreement(ref: np.ndarray, out: np.ndarray, mask: np.ndarray | None) -> tuple[int, int] | None:
    """(equal predictions, compared) of one example's view; None for a single output (regression).

    Per example (C,): the top class. Per position (L, C) with an (L,) mask: the top class at each
    kept position. Over positions (L,) with an (L,) mask (a span start or end): the top kept position.
    """
    if mask is None:
        return None if ref.shape[-1] == 1 else (int(ref.argmax() == out.argmax()), 1)
    mask = mask.astype(bool)
    if ref.ndim == 2 and mask.shape == ref.shape[:-1]:
        if ref.shape[-1] == 1:
            return None
        same = (ref.argmax(-1) == out.argmax(-1))[mask]
        return int(same.sum()), int(same.size)
    if mask.shape == ref.shape and mask.any():
        return int(np.where(mask, ref, -np.inf).argmax() == np.where(mask, out, -np.inf).argmax()), 1
    return None


def parity_check(
    reference: InferenceModel,
    exported: InferenceModel,
    batches: list[Batch],
    source: str,
    *,
    max_diff: float | None,
    min_agreement: float | None,
) -> Parity:
    """Compare the prediction views of ``exported`` with those of ``reference`` on the same padded
    batches (with their examples and features): |difference| over every output's real entries, and
    agreement of the argmax over the classes (sequence: per example; per-position views: at the
    positions their mask keeps), or, for a task type with ``decoded_parity``, of the decoded rows."""
    diffs: list[np.ndarray] = []
    per_output: dict[str, float] = {}
    same = compared = 0
    similarity = getattr(reference.task_type, "parity_similarity", None)
    similarities: list[float] = []
    # a task type compared by similarity (sentence embeddings): its decoded rows are the vectors themselves
    decoded = None if similarity is not None else _decoded_agreement(reference, exported, batches)
    for batch, _, _ in batches:
        ref_views, out_views = _views(reference, batch), _views(exported, batch)
        for name, ref_view, out_view in zip(reference.task_type.output_names, ref_views, out_views, strict=True):
            for (ref, mask), (out, _) in zip(ref_view, out_view, strict=True):  # one example
                diff = np.abs(ref - out).reshape(-1)
                diffs.append(diff)
                per_output[name] = max(per_output.get(name, 0.0), float(diff.max(initial=0.0)))
                if similarity is not None:
                    similarities.append(similarity(ref, out))
                    continue
                counted = _agreement(ref, out, mask)
                if counted is not None:
                    same, compared = same + counted[0], compared + counted[1]
    diff = np.concatenate(diffs)
    agreement = None if compared == 0 else same / compared
    if getattr(reference.task_type, "decoded_parity", False):
        agreement = decoded
    lowest = min(similarities) if similarities else None
    failures = []
    if lowest is not None and min_agreement is not None and lowest < min_agreement:
        failures.append(f"lowest cosine {lowest:.5f} < {min_agreement:g}")
    if max_diff is not None and float(diff.max()) > max_diff:
        failures.append(f"max |logit difference| {float(diff.max()):.4g} > {max_diff:g}")
    if min_agreement is not None and agreement is not None and agreement < min_agreement:
        what = "decoded agreement" if getattr(reference.task_type, "decoded_parity", False) else "argmax agreement"
        failures.append(f"{what} {agreement:.1%} < {min_agreement:.1%}")
    return Parity(
        samples=sum(len(examples) for _, examples, _ in batches),
        source=source,
        max_abs_diff=float(diff.max()),
        mean_abs_diff=float(diff.mean()),
        argmax_agreement=agreement,
        max_diff_allowed=max_diff,
        min_agreement_allowed=min_agreement,
        failures=failures,
        outputs_max_abs_diff=per_output,
        decoded_agreement=decoded,
        min_similarity=lowest,
    )


def _decoded_agreement(reference: InferenceModel, exported: InferenceModel, batches: list[Batch]) -> float | None:
    """Share of rows whose decoded predictions (:meth:`TaskType.postprocess`, float columns such as
    ``score`` left out) are the same from both models; None with no rows."""
    same = total = 0
    task_type = reference.task_type
    for batch, examples, features in batches:
        rows = []
        for model in (reference, exported):
            outputs = {k: torch.from_numpy(v) for k, v in model.outputs(batch).items()}
            views = per_example(task_type.views(outputs, batch), batch["attention_mask"])
            rows.append(task_type.postprocess(views, examples, features, model.config))
        for ref, out in zip(*rows, strict=True):
            keys = [k for k, v in ref.items() if not isinstance(v, float)]
            same += int(all(ref[k] == out.get(k) for k in keys))
            total += 1
    return same / total if total else None


def _thresholds(config: ExportConfig, num_labels: int, task_type: TaskType) -> tuple[float | None, float | None]:
    bars = getattr(task_type, "parity_bars", None)
    if bars is not None:  # one bar: the lowest similarity of one example's views
        bar = bars["fp32" if config.quantize is None else "int8"]
        return config.max_diff, config.min_agreement if config.min_agreement is not None else bar
    if config.quantize is None:
        default_diff, default_agreement = FP32_MAX_DIFF, 1.0
    elif num_labels == 1:
        default_diff, default_agreement = INT8_REGRESSION_MAX_DIFF, None
    else:
        default_diff, default_agreement = None, INT8_MIN_AGREEMENT
    max_diff = config.max_diff if config.max_diff is not None else default_diff
    min_agreement = config.min_agreement if config.min_agreement is not None else default_agreement
    return max_diff, min_agreement


class _Outputs(torch.nn.Module):
    """The model as a function of token-id tensors, returning only the named outputs."""

    def __init__(self, model: torch.nn.Module, output_names: tuple[str, ...]) -> None:
        super().__init__()
        self.model = model
        self.output_names = output_names

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:  # DistilBERT-style models take no token_type_ids at all
            inputs["token_type_ids"] = token_type_ids
        out = self.model(**inputs)
        values = tuple(out[name] for name in self.output_names)
        return values[0] if len(values) == 1 else values


def export_onnx(
    model: torch.nn.Module,
    input_names: tuple[str, ...],
    path: Path,
    opset: int,
    output_names: tuple[str, ...] = ("logits",),
) -> None:
    """Write ``model`` as ONNX with dynamic batch and sequence axes on every input.

    Inputs ``input_ids``, ``attention_mask`` (and ``token_type_ids``): int64 ``(batch, sequence)``;
    outputs ``output_names`` (the task type's; sequence classifiers: ``logits``, float32
    ``(batch, num_labels)``).
    """
    example = torch.ones(2, 16, dtype=torch.long)  # (batch, sequence)
    example[1, 10:] = 0  # a padded row, so the mask path is traced as the general case
    kwargs = {n: example.clone() if n != "token_type_ids" else torch.zeros_like(example) for n in input_names}
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence", max=4096)
    dynamic = {n: {0: batch, 1: sequence} for n in input_names}
    chatter = io.StringIO()  # the exporter prints its progress; keep it for the debug log
    onnx_log = logging.getLogger("torch.onnx")
    level = onnx_log.level
    with warnings.catch_warnings(), contextlib.redirect_stdout(chatter):
        warnings.simplefilter("ignore")
        onnx_log.setLevel(logging.ERROR)  # "torchvision is not installed. Skipping ..." and the like
        torch.onnx.export(
            _Outputs(model, output_names).eval(),
            (),
            str(path),
            kwargs=kwargs,
            input_names=list(input_names),
            output_names=list(output_names),
            opset_version=opset,
            dynamic_shapes=dynamic,
            dynamo=True,
            external_data=False,
        )
    onnx_log.setLevel(level)
    log.debug("onnx exporter: %s", chatter.getvalue())


FP32_DRAFT = "model.fp32.onnx.part"
"""The fp32 graph an int8 ONNX export is quantized from, removed after (not a file the runtime loads)."""


def _write_export(config: ExportConfig, reference: InferenceModel, model: torch.nn.Module, folder: Path) -> Path:
    """Write the model file of ``config.kind`` into ``folder``, for int8 ONNX the fp32 draft to
    quantize (:func:`_quantize_checked`); returns its path."""
    if config.format == "torch":
        target = folder / TORCH_INT8_FILE
        torch.save(quantize_torch_int8(model).state_dict(), target)
        return target
    target = folder / (ONNX_FILES["onnx"] if config.quantize is None else FP32_DRAFT)
    export_onnx(model, reference.input_names, target, config.opset, reference.task_type.output_names)
    return target


def _quantize_checked(
    config: ExportConfig, folder: Path, check: Callable[[], Parity], split: Callable[[], dict[str, int]]
) -> tuple[Path, Parity, list[str], dict[str, int]]:
    """Quantize the fp32 draft in ``folder`` to int8 and check its parity with ``check``; returns the
    int8 file, its parity, the kinds of weight matrix left in fp32 and the matrices whose outlier
    channels are computed in fp32.

    The kinds --keep-fp32 names stay fp32. With --split-outliers auto, when the export fails its
    bar, ``split`` writes the draft again with the outlier channels apart (:mod:`tinybert.deploy.outliers`;
    it returns them) and it is quantized again. Then with --keep-fp32 auto, when it still fails, each
    kind is tried alone in fp32, the smallest first (the cheapest to leave unquantized), and the first
    that passes is kept; when none does, the all-int8 export stays, for inspection."""
    draft, target = folder / FP32_DRAFT, folder / ONNX_FILES["onnx-int8"]
    matmuls = weight_matmuls(draft)  # read once: the graph of a base-size model is ~440 MB
    kinds = matrix_kinds(matmuls)  # kind -> weights, in graph order
    unknown = [kind for kind in config.fp32_kinds if kind not in kinds]
    if unknown:
        raise TinyBertError(
            f"--keep-fp32 {config.keep_fp32}: {config.model} has no weight matrix of kind {', '.join(unknown)}; "
            f"its kinds: {', '.join(kinds)}"
        )
    quantize_onnx(draft, target, nodes_of(matmuls, config.fp32_kinds))
    parity, kept, outliers = check(), list(config.fp32_kinds), {}
    if not parity.passed and config.split_outliers == SPLIT_AUTO:
        log.info("int8 parity failed (%s); computing outlier channels apart", "; ".join(parity.failures))
        outliers = split()
        if outliers:
            matmuls = weight_matmuls(draft)
            quantize_onnx(draft, target, nodes_of(matmuls, config.fp32_kinds))
            parity = check()
    if not parity.passed and config.keep_fp32 == KEEP_FP32_AUTO:
        log.info("int8 parity failed (%s); trying each kind of weight matrix in fp32", "; ".join(parity.failures))
        for kind in sorted(kinds, key=kinds.__getitem__):
            quantize_onnx(draft, target, nodes_of(matmuls, [kind]))
            trial = check()
            if trial.passed:
                parity, kept = trial, [kind]
                break
        else:
            quantize_onnx(draft, target)
    draft.unlink()
    return target, parity, kept, outliers


def run_export(config: ExportConfig) -> ExportResult:
    """Export ``config.model``, check parity, and return the record written to ``export.json``.

    Raises:
        TinyBertError: bad options or model, or parity worse than the thresholds (the export is kept
            in the output folder with its ``parity.json`` for inspection).
    """
    reference = load_inference_model(config.model)
    if reference.kind != "pytorch":
        raise TinyBertError(f"--model {config.model}: is already an export ({reference.kind}); give the PyTorch model")
    with output_folder(config.run.output, config.run.overwrite, {"--model": config.model}) as output:
        if config.vocab.prune_vocab:
            pruned = output.with_name(output.name + ".vocab.tmp")  # the model exported, removed after
            try:
                vocab = _prune_vocab_into(config, pruned)
                summary, parity, source = _export_into(config, load_inference_model(pruned), pruned, output, vocab)
            finally:
                shutil.rmtree(pruned, ignore_errors=True)
        else:
            summary, parity, source = _export_into(config, reference, Path(config.model), output, None)
    if not parity.passed:  # after the folder is written: the export is kept for inspection
        raise TinyBertError(
            f"parity check failed for {config.run.output}: {'; '.join(parity.failures)} on {parity.samples} texts "
            f"({source}) (the export is kept there with parity.json; --max-diff/--min-agreement set the bar"
            + (
                ", --keep-fp32 the weight matrices left in fp32, --outlier-factor the input channels computed apart)"
                if config.kind == "onnx-int8"
                else ")"
            )
        )
    return parse(ExportResult, summary)


def _prune_vocab_into(config: ExportConfig, folder: Path) -> dict:
    """``config.model`` with the vocabulary of ``config.data.task``'s training split, saved into ``folder``."""
    from tinybert.models.loading import load_classifier, load_tokenizer
    from tinybert.models.saving import save_model
    from tinybert.models.vocab import data_ids, prune_vocabulary
    from tinybert.tasks.loading import Features, model_labels

    task = load_data(DataConfig(task=config.data.task, data_dir=config.data.data_dir), need_train=True)
    task_type = get_task_type(task.task_type)
    model = load_classifier(config.model, task.spec.label_names, "--model", new_head=False, task_type=task_type)
    tokenizer = load_tokenizer(config.model, "--model")
    features = Features(task, tokenizer, model_labels(model, task), None)
    tokenizer, report = prune_vocabulary(model, tokenizer, data_ids(tokenizer, features.train))
    shutil.rmtree(folder, ignore_errors=True)
    save_model(model, tokenizer, folder)
    return asdict(report)


def _export_into(
    config: ExportConfig, reference: InferenceModel, folder: Path, output: Path, vocab: dict | None
) -> tuple[dict, Parity, str]:
    """Export ``reference`` (the PyTorch model of ``folder``) into ``output``; returns the summary
    written to ``export.json``, the parity result and where the parity text came from."""
    texts, source = _parity_texts(config, reference.task_type)
    batched = text_batches(
        reference.task_type, reference.tokenizer, texts, config.data.max_seq_length or PARITY_LENGTH, PARITY_BATCH_SIZE
    )
    batches = batched
    max_diff, min_agreement = _thresholds(config, reference.config.num_labels, reference.task_type)
    # Exported with eager attention: on this CPU its ONNX graph ran faster than the SDPA one.
    head_class = reference.task_type.head_class
    model = head_class.from_pretrained(folder, attn_implementation="eager").eval()
    with atomic_folder(output) as tmp:
        reference.config.save_pretrained(tmp)
        reference.tokenizer.save_pretrained(tmp)

        def check() -> Parity:
            exported = load_inference_model(tmp)
            return parity_check(reference, exported, batches, source, max_diff=max_diff, min_agreement=min_agreement)

        def split() -> dict[str, int]:  # the outlier channels, found on the parity text, computed apart
            inputs = [{k: v for k, v in batch.items() if k in reference.input_names} for batch, _, _ in batches]
            return split_outliers(model, input_ranges(model, inputs), config.outlier_factor)

        def split_again() -> dict[str, int]:  # then the draft again
            outliers = split()
            if outliers:
                _write_export(config, reference, model, tmp)
            return outliers

        start = time.perf_counter()
        outliers = split() if config.split_outliers == SPLIT_ON else {}
        model_file, kept = _write_export(config, reference, model, tmp), []
        if config.kind == "onnx-int8":
            model_file, parity, kept, split_later = _quantize_checked(config, tmp, check, split_again)
            outliers = outliers or split_later
        else:
            parity = check()
        seconds = time.perf_counter() - start  # with the int8 export's parity checks
        summary = {
            "source_model": config.model,
            "format": config.format,
            "quantize": config.quantize,
            "kind": config.kind,
            "file": model_file.name,
            "opset": config.opset if config.format == "onnx" else None,
            "inputs": list(reference.input_names),
            "outputs": list(reference.task_type.output_names),
            "task_type": reference.task_type.name,
            "dynamic_axes": {"batch": 0, "sequence": 1} if config.format == "onnx" else None,
            "parameters": reference.parameters,
            "size_bytes": model_file.stat().st_size,
            "source_size_bytes": reference.size_bytes,
            "vocab": vocab,
            "seconds": round(seconds, 2),
            "parity": {**asdict(parity), "passed": parity.passed},
            "versions": environment(),
            "fp32_matrices": kept,
            "split_outliers": outliers,
        }
        write_json(tmp / EXPORT_INFO, summary)
        write_json(tmp / "parity.json", summary["parity"])
    return summary, parity, source
