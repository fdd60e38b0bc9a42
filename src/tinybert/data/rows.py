"""Streaming row access for ``tinybert augment``: read a training file row by row with every column
kept, and write rows back in exactly the same format (header, column order, quoting, file type).

The readers in :mod:`tinybert.data.readers` load :class:`Example` lists (texts and label only);
augmentation must instead copy every other column unchanged and must not hold a large file in
memory, so it reads rows one at a time here, with the same parsing rules and the same one-line
:class:`TinyBertError` messages (``file:line``). Every row is also validated with the readers' own
checks, so a file that augments cleanly is a file ``distill`` can read.

Formats: a GLUE task's ``train.tsv`` (raw tab-separated, no quoting; CoLA without a header), and
generic ``.csv`` (standard quoting), ``.tsv`` (quoted or raw, as the readers accept), JSON lines.
A ``.json`` file holding one array of objects is read whole (it cannot be streamed) and written
back as an array.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tinybert.data import readers
from tinybert.errors import TinyBertError
from tinybert.tasks.glue import get_task

__all__ = ["Row", "RowSource", "atomic_output", "check_output", "glue_source", "table_source"]


@dataclass
class Row:
    """One input row: where it is, its text fields (1 or 2) and the whole record to copy."""

    where: str
    """``file:line`` (or ``file (item i)``) for messages."""
    texts: list[str]
    """The text fields, stripped, in ``text_columns`` order."""
    record: list[str] | dict[str, Any]
    """All fields of the row (a list for delimited files, a dict for JSON)."""


@dataclass
class RowSource:
    """A training file opened for streaming: its format and where the text fields sit."""

    path: Path
    kind: str
    """``raw-tsv`` (no quoting), ``quoted-tsv``, ``csv``, ``jsonl`` or ``json-array``."""
    header: list[str] | None
    """Header row to write back (None: a header-less file such as CoLA's train.tsv, or JSON)."""
    text_keys: list[int] | list[str]
    """Column index (delimited files) or key (JSON) of each text field."""
    text_names: list[str]
    """Column names of the text fields, for messages."""
    validate: Callable[[int, list[str]], None] | None = field(default=None, repr=False)
    """Optional ``(line, fields) -> None`` check of a delimited row with the readers' rules."""
    skip_malformed: bool = False
    """QQP only: skip rows with the wrong number of fields (as the GLUE reader does)."""
    skipped: int = 0
    """Rows skipped by ``skip_malformed`` so far."""
    width: int = 0
    """Fields per row of a delimited file (the header's width)."""

    @property
    def is_pair(self) -> bool:
        return len(self.text_keys) == 2

    def rows(self) -> Iterator[Row]:
        """Yield the data rows in file order (memory use does not grow with the file)."""
        if self.kind in ("jsonl", "json-array"):
            yield from self._json_rows()
            return
        delimiter = "," if self.kind == "csv" else "\t"
        quoting = csv.QUOTE_NONE if self.kind == "raw-tsv" else csv.QUOTE_MINIMAL
        with readers._open_text(self.path) as handle:
            rows = readers._iter_csv_rows(self.path, handle, delimiter, quoting)
            if self.header is not None:
                next(rows, None)
            for line, fields in rows:
                where = f"{self.path}:{line}"
                try:
                    fields = readers._fit_width(self.path, line, fields, self.width)
                    if self.validate is not None:
                        self.validate(line, fields)
                except readers._MalformedRowError:
                    if not self.skip_malformed:
                        raise
                    self.skipped += 1
                    continue
                texts = [
                    readers._text_value(where, name, fields[i])
                    for name, i in zip(self.text_names, self.text_keys, strict=True)
                ]
                yield Row(where, texts, fields)

    def _json_rows(self) -> Iterator[Row]:
        json_array = self.kind == "json-array"
        records = readers._json_records(self.path) if json_array else _iter_json_lines(self.path)
        for where, obj in records:
            keys = [self._json_key(where, obj, name) for name in self.text_names]
            texts = [
                readers._text_value(where, name, obj[key]) for name, key in zip(self.text_names, keys, strict=True)
            ]
            yield Row(where, texts, dict(obj))

    @staticmethod
    def _json_key(where: str, obj: dict[str, Any], name: str) -> str:
        if name in obj:
            return name
        index = readers._find_column(name, list(obj))
        if index is None:
            available = ", ".join(repr(k) for k in obj)
            raise TinyBertError(f"{where}: missing column '{name}' (available columns: {available})")
        return list(obj)[index]

    def with_texts(self, row: Row, texts: Sequence[str]) -> list[str] | dict[str, Any]:
        """A copy of ``row``'s record with its text fields replaced by ``texts``."""
        if isinstance(row.record, dict):
            record = dict(row.record)
            for name, text in zip(self.text_names, texts, strict=True):
                record[self._json_key(row.where, record, name)] = text
            return record
        fields = list(row.record)
        for index, text in zip(self.text_keys, texts, strict=True):
            fields[int(index)] = text
        return fields

    def writer(self, handle: TextIO) -> RowWriter:
        """A writer that produces this source's format on ``handle`` (header written first)."""
        return RowWriter(self, handle)


class RowWriter:
    """Writes records in a :class:`RowSource`'s format; call :meth:`close` to finish the file."""

    def __init__(self, source: RowSource, handle: TextIO) -> None:
        self.kind = source.kind
        self.handle = handle
        self.count = 0
        self._csv = None
        if self.kind in ("csv", "quoted-tsv"):
            delimiter = "," if self.kind == "csv" else "\t"
            self._csv = csv.writer(handle, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        if self.kind == "json-array":
            handle.write("[")
        if source.header is not None:
            self._write_fields(source.header)

    def _write_fields(self, fields: Sequence[str]) -> None:
        if self._csv is not None:
            self._csv.writerow(fields)
        else:  # raw TSV: the fields came from a quote-free file, so they hold no tab or line break
            self.handle.write("\t".join(fields) + "\n")

    def write(self, record: list[str] | dict[str, Any]) -> None:
        if isinstance(record, dict):
            text = json.dumps(record, ensure_ascii=False)
            if self.kind == "json-array":
                self.handle.write(("\n" if self.count == 0 else ",\n") + text)
            else:
                self.handle.write(text + "\n")
        else:
            self._write_fields(record)
        self.count += 1

    def close(self) -> None:
        if self.kind == "json-array":
            self.handle.write("\n]\n")


def _iter_json_lines(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        handle = path.open(encoding="utf-8-sig")
    except OSError as exc:
        raise TinyBertError(f"{path}: cannot open file ({exc.strerror or exc})") from exc
    with handle:
        line_no = 0
        while True:
            try:
                line = handle.readline()
            except UnicodeDecodeError as exc:
                raise TinyBertError(f"{path}: not valid UTF-8 text ({exc.reason}); save it as UTF-8") from exc
            if not line:
                return
            line_no += 1
            if not line.strip():
                continue
            where = f"{path}:{line_no}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TinyBertError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(obj, dict):
                raise TinyBertError(f"{where}: expected a JSON object per line, got {type(obj).__name__}")
            yield where, obj


def _first_row(path: Path, delimiter: str, quoting: int) -> list[str] | None:
    with readers._open_text(path) as handle:
        first = next(readers._iter_csv_rows(path, handle, delimiter, quoting), None)
    return None if first is None else first[1]


def _tsv_quoting(path: Path) -> str:
    """``quoted-tsv`` when the file parses with CSV quoting and no quoted field spans lines (the
    readers' rule), else ``raw-tsv``; two streaming passes at most, no file held in memory."""
    try:
        with readers._open_text(path) as handle:
            for _, fields in readers._iter_csv_rows(path, handle, "\t", csv.QUOTE_MINIMAL):
                if any("\n" in cell or "\r" in cell for cell in fields):
                    return "raw-tsv"
    except readers._MalformedRowError:
        return "raw-tsv"
    return "quoted-tsv"


def glue_source(task: str, data_dir: str | Path | None, train_file: str | Path | None = None) -> RowSource:
    """The training file of GLUE ``task``: ``train_file`` if given, else the task folder's train.tsv."""
    spec = get_task(task)
    layout = readers._GLUE_LAYOUTS[spec.name]
    if train_file is not None:
        path = Path(train_file)
    else:
        if data_dir is None:
            raise TinyBertError(f"--task {task} needs --data-dir (the folder with its TSV files) or --train FILE")
        path = readers._glue_task_dir(spec, layout, Path(data_dir)) / (spec.train_file or "train.tsv")
    readers._require_file(path, f"GLUE {spec.name} training file")
    first = _first_row(path, "\t", csv.QUOTE_NONE)
    if first is None:
        raise TinyBertError(f"{path}: file is empty (expected a {spec.name} TSV file)")
    cols = readers._glue_columns(path, layout, first, labelled=True)

    def validate(line: int, fields: list[str]) -> None:
        readers._glue_example(path, line, fields, cols, spec, layout)

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


def table_source(path: str | Path, text_columns: Sequence[str]) -> RowSource:
    """A generic ``.csv`` / ``.tsv`` / ``.jsonl`` (or ``.json``) training file with its text columns."""
    path = Path(path)
    names = readers._check_text_columns(text_columns)
    kind = readers._table_format(path)
    readers._require_file(path)
    if kind == "json":
        with readers._open_text(path) as handle:
            head = handle.read(4096).lstrip()
        is_array = path.suffix.lower() == ".json" and head.startswith("[")
        return RowSource(path, "json-array" if is_array else "jsonl", None, list(names), list(names))
    table_kind = "csv" if path.suffix.lower() == ".csv" else _tsv_quoting(path)
    delimiter = "," if table_kind == "csv" else "\t"
    quoting = csv.QUOTE_NONE if table_kind == "raw-tsv" else csv.QUOTE_MINIMAL
    first = _first_row(path, delimiter, quoting)
    if first is None:
        raise TinyBertError(f"{path}: file is empty (expected a header row and data rows)")
    header = readers._clean_header(first)
    indices = [readers._column_index(path, name, header) for name in names]
    return RowSource(path, table_kind, first, indices, list(names), width=len(header))


def output_suffix_ok(source: RowSource, output: Path) -> bool:
    """Whether ``output``'s file type reads back in ``source``'s format with our readers."""
    out = output.suffix.lower()
    if source.validate is not None:  # GLUE: any name works with --task ... --train, but keep .tsv honest
        return out == ".tsv"
    if source.kind in ("jsonl", "json-array"):
        return out in readers.JSON_SUFFIXES and (source.kind == "jsonl" or out == ".json")
    return out == source.path.suffix.lower()


def check_output(output: Path, overwrite: bool, inputs: Sequence[Path]) -> None:
    """Refuse a folder, any of ``inputs``, and an existing file unless ``overwrite``."""
    output = Path(output)
    if output.is_dir():
        raise TinyBertError(f"--output {output}: is a folder, expected a file name")
    for path in inputs:
        if path.exists() and output.exists() and output.resolve() == path.resolve():
            raise TinyBertError(f"--output {output}: is the input file; choose another name")
    if output.exists() and not overwrite:
        raise TinyBertError(f"--output {output}: file exists; pass --overwrite to replace it")


@contextmanager
def atomic_output(output: Path, overwrite: bool, inputs: Sequence[Path]) -> Iterator[TextIO]:
    """Open a temporary file next to ``output``; on success it replaces ``output`` atomically,
    on any error it is deleted and ``output`` is left as it was.

    Refuses what :func:`check_output` refuses.
    """
    output = Path(output)
    check_output(output, overwrite, inputs)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
