"""Read GLUE task folders and generic CSV / TSV / JSON-lines files into :class:`Example` lists.

Every problem a user can fix (missing folder or file, empty file, missing column, malformed row,
unknown label, non-numeric regression target, bad JSON) raises :class:`TinyBertError` with a
single line naming the file (and ``file:line`` for row errors) and what was expected.

GLUE files are read exactly as the reference processors do: tab-separated, UTF-8 (a leading BOM
is ignored, MRPC has one), with quoting disabled (``csv.QUOTE_NONE``) because sentences contain
bare ``"`` characters. Columns are found by header name; CoLA's train/dev files have no header
and are read by position (source, label, original mark, sentence). Reading is strict: a row with
the wrong number of fields is an error, except for QQP, whose official ``train.tsv`` has a few
known broken rows (questions split over two lines); those are skipped and their count logged as a
warning.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinybert.data.glue import (
    PAIR_MAX_LENGTH,
    SINGLE_SENTENCE_MAX_LENGTH,
    GlueFiles,
    TaskSpec,
    get_task,
)
from tinybert.data.rows import (
    MalformedRowError,
    Record,
    RowSource,
    check_text_columns,
    clean_header,
    column_index,
    find_column,
    first_row,
    fit_width,
    iter_csv_rows,
    json_records,
    open_text,
    require_file,
    table_format,
    text_value,
)
from tinybert.errors import TinyBertError

__all__ = ["Example", "TaskData", "glue_source", "load_custom", "load_glue", "read_table"]

logger = logging.getLogger(__name__)


@dataclass
class Example:
    """One input: a text or text pair and its label.

    ``label`` is the display label name for classification, a float for regression and None
    when the file carries no labels (e.g. GLUE test sets).
    """

    text_a: str
    text_b: str | None
    label: str | float | None


@dataclass
class TaskData:
    """A task's spec and its loaded splits (``train`` is empty when it was not requested).

    The examples are :class:`Example` for sequence tasks, the task type's own objects otherwise;
    ``task_type`` names the task type that reads and featurizes them (:mod:`tinybert.tasks.base`).
    """

    spec: TaskSpec
    train: list[Any] = field(default_factory=list)
    evals: dict[str, list[Any]] = field(default_factory=dict)
    task_type: str = "sequence"


# --------------------------------------------------------------------------------------------
# Small helpers shared by all readers
# --------------------------------------------------------------------------------------------


def _check_limit(value: object, option: str) -> int | None:
    """Validate a ``max_samples`` value: None or a positive int."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TinyBertError(f"option {option}: expected a positive integer, got {value!r}")
    return value


def _split_limits(max_samples: Mapping[str, int] | None, splits: Sequence[str]) -> dict[str, int | None]:
    """Resolve ``max_samples`` ({"train": N, "eval": M, "<split>": K}) to a limit per split.

    A split's own key wins over ``"eval"``, which applies to every split except ``train``.
    """
    if max_samples is None:
        return dict.fromkeys(splits)
    if not isinstance(max_samples, Mapping):
        raise TinyBertError(
            f"option max_samples: expected a mapping like {{'train': 2000, 'eval': 500}}, got {max_samples!r}"
        )
    valid = ["train", "eval", *[s for s in splits if s != "train"]]
    for key, value in max_samples.items():
        if key not in valid:
            raise TinyBertError(f"option max_samples: unknown key '{key}' (expected one of: {', '.join(valid)})")
        _check_limit(value, f"max_samples['{key}']")
    limits: dict[str, int | None] = {}
    for split in splits:
        default = None if split == "train" else max_samples.get("eval")
        limits[split] = max_samples.get(split, default)
    return limits


def _regression_value(where: str, column: str, value: Any) -> float:
    """A finite float label (``"3.8"`` and ``3.8`` both work)."""
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise TinyBertError(f"{where}: regression label in column '{column}' must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise TinyBertError(f"{where}: regression label in column '{column}' must be finite, got {value!r}")
    return number


def _class_value(where: str, column: str, value: Any) -> str:
    """A classification label: ``str(value).strip()``, never empty."""
    if value is None:
        raise TinyBertError(f"{where}: missing label in column '{column}'")
    label = str(value).strip()
    if not label:
        raise TinyBertError(f"{where}: empty label in column '{column}'")
    return label


# --------------------------------------------------------------------------------------------
# GLUE
# --------------------------------------------------------------------------------------------


def _layout(spec: TaskSpec) -> GlueFiles:
    if spec.files is None:
        raise TinyBertError(f"task {spec.name}: has no GLUE file layout")
    return spec.files


def _glue_task_dir(spec: TaskSpec, layout: GlueFiles, data_dir: Path) -> Path:
    """Find the task folder: ``data_dir/<SST-2>`` (also under ``glue/``) or ``data_dir`` itself."""
    if not data_dir.is_dir():
        raise TinyBertError(f"GLUE data directory not found: {data_dir} (expected a folder holding {layout.folder}/)")
    names = dict.fromkeys([layout.folder, layout.folder.lower(), spec.name, spec.name.upper()])
    for parent in (data_dir, data_dir / "glue", data_dir / "glue_data"):
        for name in names:
            if (parent / name).is_dir():
                return parent / name
    own_files = [spec.train_file, *spec.eval_files.values(), *dict(layout.test_files).values()]
    if any(name and (data_dir / name).is_file() for name in own_files):
        return data_dir
    raise TinyBertError(
        f"{data_dir}: no {layout.folder}/ folder for task {spec.name} "
        f"(expected {data_dir / layout.folder}, or pass the task folder itself)"
    )


def _glue_split_files(spec: TaskSpec, layout: GlueFiles, splits: Sequence[str]) -> dict[str, str]:
    """Map the requested split names to file names; ``dev``/``test`` expand for MNLI."""
    if isinstance(splits, str):
        splits = [splits]
    tests = dict(layout.test_files)
    known = {**spec.eval_files, **tests}
    files: dict[str, str] = {}
    for split in splits:
        if split == "train" and spec.train_file is not None:
            files["train"] = spec.train_file
        elif split in known:
            files[split] = known[split]
        elif split in ("dev", "test"):
            group = spec.eval_files if split == "dev" else tests
            files.update(group)
        else:
            valid = ", ".join(dict.fromkeys(["train", "dev", "test", *known]))
            raise TinyBertError(f"option splits: unknown split '{split}' for task {spec.name} (expected: {valid})")
    if not files:
        raise TinyBertError("option splits: no split requested (expected e.g. ['train', 'dev'])")
    return files


@dataclass
class _GlueColumns:
    """Where texts and label sit in one GLUE file."""

    width: int
    text_indices: list[int]
    label_index: int | None
    has_header: bool


def _glue_columns(path: Path, layout: GlueFiles, first_row: list[str], labelled: bool) -> _GlueColumns:
    """Read the header (or recognise a header-less CoLA file) and locate the columns."""
    header = clean_header(first_row)
    has_header = True
    if layout.headerless_columns is not None and find_column(layout.text_columns[0], header) is None:
        header, has_header = list(layout.headerless_columns), False
    text_indices = [column_index(path, name, header) for name in layout.text_columns]
    label_index = find_column(layout.label_column, header)
    if label_index is None and labelled:
        label_index = column_index(path, layout.label_column, header)  # raises
    return _GlueColumns(len(header), text_indices, label_index, has_header)


def _glue_label(path: Path, line: int, raw: str, spec: TaskSpec, layout: GlueFiles) -> str | float:
    where = f"{path}:{line}"
    mapping = spec.label_map()
    if mapping is None:
        return _regression_value(where, layout.label_column, raw)
    value = raw.strip()
    if value not in mapping:
        expected = ", ".join(repr(k) for k in mapping)
        raise TinyBertError(f"{where}: label {raw!r} is not a {spec.name} label (expected one of: {expected})")
    return mapping[value]


def _glue_example(
    path: Path, line: int, row: list[str], cols: _GlueColumns, spec: TaskSpec, layout: GlueFiles
) -> Example:
    row = fit_width(path, line, row, cols.width)
    where = f"{path}:{line}"
    texts = []
    for name, index in zip(layout.text_columns, cols.text_indices, strict=True):
        if not row[index].strip():
            raise MalformedRowError(f"{where}: empty text in column '{name}'")
        texts.append(row[index].strip())
    label = None if cols.label_index is None else _glue_label(path, line, row[cols.label_index], spec, layout)
    return Example(text_a=texts[0], text_b=texts[1] if len(texts) > 1 else None, label=label)


def _read_glue_file(path: Path, spec: TaskSpec, layout: GlueFiles, split: str, limit: int | None) -> list[Example]:
    """Read one GLUE TSV; for test splits the label column is optional (GLUE has none)."""
    require_file(path, f"GLUE {spec.name} file for split '{split}'")
    labelled = split not in dict(layout.test_files)
    examples: list[Example] = []
    skipped = 0
    with open_text(path) as handle:
        rows = iter_csv_rows(path, handle, "\t", csv.QUOTE_NONE)
        first = next(rows, None)
        if first is None:
            raise TinyBertError(f"{path}: file is empty (expected a {spec.name} TSV file)")
        cols = _glue_columns(path, layout, first[1], labelled)
        pending = rows if cols.has_header else _chain_first(first, rows)
        for line, row in pending:
            if limit is not None and len(examples) >= limit:
                break
            try:
                examples.append(_glue_example(path, line, row, cols, spec, layout))
            except MalformedRowError:
                if not layout.skip_malformed:
                    raise
                skipped += 1
    if skipped:
        logger.warning("%s: skipped %d malformed rows (known defect of GLUE %s)", path, skipped, spec.name)
    if not examples:
        raise TinyBertError(f"{path}: no data rows (expected at least one {spec.name} example)")
    return examples


def _chain_first(
    first: tuple[int, list[str]], rest: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple[int, list[str]]]:
    yield first
    yield from rest


def load_glue(
    task: str,
    data_dir: str | Path,
    splits: Sequence[str] = ("train", "dev"),
    max_samples: dict[str, int] | None = None,
    train_file: str | Path | None = None,
) -> TaskData:
    """Load GLUE splits of ``task`` from ``data_dir``.

    ``data_dir`` is the GLUE root holding ``SST-2/``, ``CoLA/``, ... (a ``glue/`` or
    ``glue_data/`` sub-folder is also searched) or the task folder itself. ``splits`` holds
    ``"train"``, ``"dev"`` (MNLI: both ``dev_matched`` and ``dev_mismatched``), ``"test"``
    (unlabelled; MNLI: ``test_matched``/``test_mismatched``) or a specific file's split name.
    ``max_samples`` such as ``{"train": 2000, "eval": 500}`` keeps the first N rows of a split
    (``"eval"`` applies to every split except train; a split's own name overrides it).
    ``train_file``, when given, is read in the task's format instead of the folder's train.tsv
    (e.g. an augmented copy written by ``tinybert augment``).

    Returns:
        TaskData with ``train`` (empty if not requested) and ``evals`` keyed by split name.

    Raises:
        TinyBertError: missing folder or file, empty file, missing column, malformed row,
            label outside the task's label set, non-numeric STS-B score.
    """
    spec = get_task(task)
    layout = _layout(spec)
    files = _glue_split_files(spec, layout, splits)
    limits = _split_limits(max_samples, list(files))
    task_dir = _glue_task_dir(spec, layout, Path(data_dir))
    data = TaskData(spec=spec)
    for split, file_name in files.items():
        path = Path(train_file) if split == "train" and train_file is not None else task_dir / file_name
        examples = _read_glue_file(path, spec, layout, split, limits[split])
        if split == "train":
            data.train = examples
        else:
            data.evals[split] = examples
    return data


def glue_source(task: str, data_dir: str | Path | None, train_file: str | Path | None = None) -> RowSource:
    """The training file of GLUE ``task``: ``train_file`` if given, else the task folder's train.tsv."""
    spec = get_task(task)
    layout = _layout(spec)
    if train_file is not None:
        path = Path(train_file)
    else:
        if data_dir is None:
            raise TinyBertError(f"--task {task} needs --data-dir (the folder with its TSV files) or --train FILE")
        path = _glue_task_dir(spec, layout, Path(data_dir)) / (spec.train_file or "train.tsv")
    require_file(path, f"GLUE {spec.name} training file")
    first = first_row(path, "\t", csv.QUOTE_NONE)
    if first is None:
        raise TinyBertError(f"{path}: file is empty (expected a {spec.name} TSV file)")
    cols = _glue_columns(path, layout, first, labelled=True)

    def validate(line: int, fields: list[str]) -> None:
        _glue_example(path, line, fields, cols, spec, layout)

    source = RowSource(
        path=path,
        kind="raw-tsv",
        header=first if cols.has_header else None,
        text_keys=cols.text_indices,
        text_names=list(layout.text_columns),
        validate=validate,
        skip_malformed=layout.skip_malformed,
        width=cols.width,
    )
    return source


# --------------------------------------------------------------------------------------------
# Generic files: CSV / TSV / JSON lines
# --------------------------------------------------------------------------------------------


def _parse_delimited(path: Path, delimiter: str, quoting: int) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and width-checked rows of a delimited file (empty header list when empty)."""
    with open_text(path) as handle:
        rows = iter_csv_rows(path, handle, delimiter, quoting)
        first = next(rows, None)
        if first is None:
            return [], []
        header = clean_header(first[1])
        body = [(line, fit_width(path, line, row, len(header))) for line, row in rows]
    return header, body


def _parse_tsv(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Parse a generic TSV, tolerating both quoted (CSV-style) and raw (GLUE-style) files.

    CSV quoting is tried first; if it fails, or a quoted field swallowed a line break, the file
    is read again with quoting off (every line one row) and that reading is used if it is
    consistent. Errors are reported from the quoting-off reading, whose line numbers are exact.
    """
    try:
        quoted: tuple[list[str], list[tuple[int, list[str]]]] | None = _parse_delimited(path, "\t", csv.QUOTE_MINIMAL)
    except MalformedRowError:
        quoted = None
    if quoted is not None and not any("\n" in cell or "\r" in cell for _, row in quoted[1] for cell in row):
        return quoted
    try:
        return _parse_delimited(path, "\t", csv.QUOTE_NONE)
    except MalformedRowError:
        if quoted is not None:
            return quoted
        raise


def _delimited_records(path: Path, text_columns: Sequence[str], label_column: str | None) -> list[Record]:
    if path.suffix.lower() == ".tsv":
        header, body = _parse_tsv(path)
    else:
        header, body = _parse_delimited(path, ",", csv.QUOTE_MINIMAL)
    if not header:
        raise TinyBertError(f"{path}: file is empty (expected a header row and data rows)")
    wanted = [*text_columns, *([label_column] if label_column is not None else [])]
    indices = {name: column_index(path, name, header) for name in wanted}
    return [(f"{path}:{line}", {name: row[i] for name, i in indices.items()}) for line, row in body]


def _record_value(where: str, record: Mapping[str, Any], name: str) -> Any:
    if name in record:
        return record[name]
    key = find_column(name, list(record))
    if key is None:
        available = ", ".join(repr(k) for k in record)
        raise TinyBertError(f"{where}: missing column '{name}' (available columns: {available})")
    return record[list(record)[key]]


def _record_example(
    where: str,
    record: Mapping[str, Any],
    text_columns: Sequence[str],
    label_column: str | None,
    regression: bool,
) -> Example:
    texts = [text_value(where, name, _record_value(where, record, name)) for name in text_columns]
    label: str | float | None = None
    if label_column is not None:
        raw = _record_value(where, record, label_column)
        label = _regression_value(where, label_column, raw) if regression else _class_value(where, label_column, raw)
    return Example(text_a=texts[0], text_b=texts[1] if len(texts) > 1 else None, label=label)


def read_table(
    path: str | Path,
    text_columns: Sequence[str],
    label_column: str | None,
    regression: bool = False,
    max_samples: int | None = None,
) -> list[Example]:
    """Read a generic ``.csv`` / ``.tsv`` / ``.jsonl`` file into examples (file order kept).

    ``.csv`` uses standard CSV quoting; ``.tsv`` accepts quoted or raw (quote-free) files;
    ``.jsonl`` (also ``.json-lines``, ``.ndjson``, ``.json``) holds one JSON object per line.
    Texts are stripped and must be non-empty. Classification labels are ``str(value).strip()``,
    regression labels floats; ``label_column=None`` gives unlabelled examples.
    ``max_samples`` keeps the first N rows.

    Raises:
        TinyBertError: missing or empty file, missing column (the available ones are listed),
            malformed row or bad JSON (``file:line``), empty text, non-numeric regression label.
    """
    path = Path(path)
    columns = check_text_columns(text_columns)
    limit = _check_limit(max_samples, "max_samples")
    kind = table_format(path)
    require_file(path)
    records = _delimited_records(path, columns, label_column) if kind == "table" else json_records(path)
    if not records:
        raise TinyBertError(f"{path}: no data rows (expected at least one example)")
    if limit is not None:
        records = records[:limit]
    return [_record_example(where, rec, columns, label_column, regression) for where, rec in records]


def _sorted_labels(labels: set[str]) -> tuple[str, ...]:
    """Sort label names; numerically when they all look like numbers (``"2" < "10"``)."""

    def number(value: str) -> float | None:
        try:
            result = float(value)
        except ValueError:
            return None
        return result if math.isfinite(result) else None

    if labels and all(number(label) is not None for label in labels):
        return tuple(sorted(labels, key=lambda label: (number(label), label)))
    return tuple(sorted(labels))


def _check_eval_labels(
    label_names: tuple[str, ...], evals: Mapping[str, list[Example]], paths: Mapping[str, str | Path]
) -> None:
    known = set(label_names)
    for split, examples in evals.items():
        unknown = sorted({str(ex.label) for ex in examples if ex.label not in known})
        if unknown:
            raise TinyBertError(
                f"{paths[split]}: eval split '{split}' has labels not seen in the training file: "
                f"{', '.join(repr(u) for u in unknown[:5])} (training labels: {', '.join(label_names)})"
            )


def load_custom(
    train: str | Path | None,
    evals: dict[str, str | Path],
    text_columns: Sequence[str],
    label_column: str,
    regression: bool = False,
    max_samples: dict[str, int] | None = None,
) -> TaskData:
    """Load user files (see :func:`read_table`) as a ``custom`` task.

    The spec's ``label_names`` are the sorted distinct training labels (of the eval files when
    there is no training file; numeric-looking labels sort numerically), main metric
    ``accuracy`` (classification) or ``pearson`` (regression), ``max_seq_length`` 64 for one
    text column and 128 for two. ``max_samples`` works as in :func:`load_glue`.

    Raises:
        TinyBertError: as :func:`read_table`, plus: no file given, an eval split named
            ``train``, or eval labels that never occur in the training file.
    """
    evals = dict(evals or {})
    columns = check_text_columns(text_columns)
    if train is None and not evals:
        raise TinyBertError("custom data: no files given (expected a train file and/or eval files)")
    if not isinstance(label_column, str) or not label_column.strip():
        raise TinyBertError(f"option label_column: expected a column name, got {label_column!r}")
    if "train" in evals:
        raise TinyBertError("custom data: 'train' cannot be an eval split name (pick e.g. 'dev')")
    limits = _split_limits(max_samples, ["train", *evals])

    def read(path: str | Path, split: str) -> list[Example]:
        return read_table(path, columns, label_column, regression=regression, max_samples=limits[split])

    train_examples = read(train, "train") if train is not None else []
    eval_examples = {split: read(path, split) for split, path in evals.items()}
    label_names = None
    if not regression:
        source = train_examples or [ex for exs in eval_examples.values() for ex in exs]
        label_names = _sorted_labels({str(ex.label) for ex in source})
        if len(label_names) < 2:
            logger.warning(
                "custom data: only one distinct label (%s); the classifier has nothing to learn", label_names
            )
        if train_examples:
            _check_eval_labels(label_names, eval_examples, evals)
    spec = TaskSpec(
        name="custom",
        is_regression=regression,
        label_names=label_names,
        main_metric="pearson" if regression else "accuracy",
        max_seq_length=PAIR_MAX_LENGTH if len(columns) == 2 else SINGLE_SENTENCE_MAX_LENGTH,
        is_pair=len(columns) == 2,
        train_file=None,
        eval_files={},
    )
    return TaskData(spec=spec, train=train_examples, evals=eval_examples)
