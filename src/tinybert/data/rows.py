"""Streaming rows of CSV / TSV / JSON-lines files: the one public row-reading API.

Everything that reads a data file row by row goes through this module: the readers
(:mod:`tinybert.data.readers`, which build examples on top of it), ``tinybert augment`` (which
copies every column unchanged and writes rows back in the same format: header, column order,
quoting, file type) and ``tinybert predict`` (which adds columns). Rows are read one at a time,
so memory does not grow with the file, and every problem a user can fix raises a one-line
:class:`TinyBertError` naming ``file:line`` and what was expected.

Formats: a GLUE task's ``train.tsv`` (raw tab-separated, no quoting; CoLA without a header; see
:func:`tinybert.data.readers.glue_source`), and generic ``.csv`` (standard quoting), ``.tsv``
(quoted or raw), JSON lines. A ``.json`` file holding one array of objects is read whole (it
cannot be streamed) and written back as an array.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tinybert.errors import TinyBertError
from tinybert.io.outputs import atomic_file

__all__ = [
    "JSON_SUFFIXES",
    "TABLE_SUFFIXES",
    "MalformedRowError",
    "Record",
    "Row",
    "RowSource",
    "atomic_output",
    "check_output",
    "check_text_columns",
    "clean_header",
    "column_index",
    "find_column",
    "first_row",
    "fit_width",
    "guess_text_column",
    "iter_csv_rows",
    "iter_json_lines",
    "json_records",
    "open_text",
    "output_suffix_ok",
    "require_file",
    "table_format",
    "table_source",
    "text_value",
]

TABLE_SUFFIXES = (".csv", ".tsv")
JSON_SUFFIXES = (".jsonl", ".json-lines", ".jsonlines", ".ndjson", ".json")

Record = tuple[str, Mapping[str, Any]]
"""``("file:line", column -> value)``: one row of a file, with where it is for messages."""


# --------------------------------------------------------------------------------------------
# Primitives: opening, iterating and validating rows
# --------------------------------------------------------------------------------------------


class MalformedRowError(TinyBertError):
    """A row that cannot be split into the expected fields (wrong count, broken quoting)."""


def open_text(path: Path) -> TextIO:
    """Open a UTF-8 text file (a leading BOM is dropped) for the csv module."""
    try:
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise TinyBertError(f"{path}: cannot open file ({exc.strerror or exc})") from exc


def require_file(path: Path, what: str = "file") -> None:
    if not path.exists():
        raise TinyBertError(f"{what} not found: {path}")
    if not path.is_file():
        raise TinyBertError(f"{path}: expected a file, found a directory or special file")


def iter_csv_rows(path: Path, handle: TextIO, delimiter: str, quoting: int) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(first line number, fields)`` for each non-blank record of a delimited file."""
    reader = csv.reader(handle, delimiter=delimiter, quoting=quoting, strict=quoting != csv.QUOTE_NONE)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise MalformedRowError(f"{path}:{start}: malformed row ({exc})") from exc
        except UnicodeDecodeError as exc:
            raise TinyBertError(f"{path}: not valid UTF-8 text ({exc.reason}); save it as UTF-8") from exc
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        yield start, row


def clean_header(row: list[str]) -> list[str]:
    return [name.strip().lstrip("\ufeff").strip() for name in row]


def find_column(name: str, columns: Sequence[str]) -> int | None:
    """Index of ``name`` in ``columns``: exact match first, then a unique case-insensitive one."""
    if name in columns:
        return list(columns).index(name)
    folded = [i for i, col in enumerate(columns) if col.casefold() == name.strip().casefold()]
    return folded[0] if len(folded) == 1 else None


def column_index(path: Path, name: str, columns: Sequence[str]) -> int:
    index = find_column(name, columns)
    if index is None:
        available = ", ".join(repr(c) for c in columns)
        raise TinyBertError(f"{path}: missing column '{name}' (available columns: {available})")
    return index


def fit_width(path: Path, line: int, row: list[str], width: int) -> list[str]:
    """Check a row has ``width`` fields; trailing empty fields (a stray final tab) are dropped."""
    if len(row) > width and not any(cell.strip() for cell in row[width:]):
        row = row[:width]
    if len(row) != width:
        raise MalformedRowError(f"{path}:{line}: expected {width} fields (as in the header), found {len(row)}")
    return row


def text_value(where: str, column: str, value: Any) -> str:
    """A non-empty, stripped text field."""
    if isinstance(value, bool) or value is None:
        raise TinyBertError(f"{where}: column '{column}' must hold text, got {value!r}")
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise TinyBertError(f"{where}: column '{column}' must hold text, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise TinyBertError(f"{where}: empty text in column '{column}'")
    return text


def json_records(path: Path) -> list[Record]:
    """Records of a JSON-lines file (or of a ``.json`` file holding one array of objects)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TinyBertError(f"{path}: not valid UTF-8 text ({exc.reason}); save it as UTF-8") from exc
    except OSError as exc:
        raise TinyBertError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        return json_array_records(path, text)
    records: list[Record] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        records.append(json_line(path, line_no, line))
    return records


def _loads(text: str, path: Path, line_no: int | None = None) -> Any:
    """``text`` as JSON; a one-line error naming the file and line otherwise."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        line = line_no if line_no is not None else exc.lineno
        raise TinyBertError(f"{path}:{line}: invalid JSON ({exc.msg} at column {exc.colno})") from None


def _record(obj: Any, where: str, expected: str) -> Record:
    if not isinstance(obj, dict):
        raise TinyBertError(f"{where}: expected {expected}, got {type(obj).__name__}")
    return where, obj


def json_line(path: Path, line_no: int, line: str) -> Record:
    """One line of a JSON-lines file as ``("file:line", object)``; a one-line error otherwise."""
    return _record(_loads(line, path, line_no), f"{path}:{line_no}", "a JSON object per line")


def json_array_records(path: Path, text: str) -> list[Record]:
    items = _loads(text, path)
    if not isinstance(items, list):
        raise TinyBertError(f"{path}: expected JSON lines or one array of objects")
    return [_record(obj, f"{path} (item {i})", "a JSON object") for i, obj in enumerate(items)]


def check_text_columns(text_columns: Sequence[str]) -> list[str]:
    if isinstance(text_columns, str):
        text_columns = [text_columns]
    columns = list(text_columns)
    if not 1 <= len(columns) <= 2 or not all(isinstance(c, str) and c.strip() for c in columns):
        raise TinyBertError(f"option text_columns: expected one or two column names, got {columns!r}")
    return [c.strip() for c in columns]


def table_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        return "table"
    if suffix in JSON_SUFFIXES:
        return "json"
    supported = ", ".join((*TABLE_SUFFIXES, *JSON_SUFFIXES))
    raise TinyBertError(f"{path}: unsupported file type '{suffix or '(none)'}' (expected one of: {supported})")


def iter_json_lines(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
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
            yield json_line(path, line_no, line)


# --------------------------------------------------------------------------------------------
# Row sources: a file opened for streaming, and writing rows back
# --------------------------------------------------------------------------------------------


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
        with open_text(self.path) as handle:
            rows = iter_csv_rows(self.path, handle, delimiter, quoting)
            if self.header is not None:
                next(rows, None)
            for line, fields in rows:
                where = f"{self.path}:{line}"
                try:
                    fields = fit_width(self.path, line, fields, self.width)
                    if self.validate is not None:
                        self.validate(line, fields)
                except MalformedRowError:
                    if not self.skip_malformed:
                        raise
                    self.skipped += 1
                    continue
                texts = [
                    text_value(where, name, fields[i]) for name, i in zip(self.text_names, self.text_keys, strict=True)
                ]
                yield Row(where, texts, fields)

    def _json_rows(self) -> Iterator[Row]:
        json_array = self.kind == "json-array"
        records = json_records(self.path) if json_array else iter_json_lines(self.path)
        for where, obj in records:
            keys = [self._json_key(where, obj, name) for name in self.text_names]
            texts = [text_value(where, name, obj[key]) for name, key in zip(self.text_names, keys, strict=True)]
            yield Row(where, texts, dict(obj))

    @staticmethod
    def _json_key(where: str, obj: dict[str, Any], name: str) -> str:
        if name in obj:
            return name
        index = find_column(name, list(obj))
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


def first_row(path: Path, delimiter: str, quoting: int) -> list[str] | None:
    with open_text(path) as handle:
        first = next(iter_csv_rows(path, handle, delimiter, quoting), None)
    return None if first is None else first[1]


def _tsv_quoting(path: Path) -> str:
    """``quoted-tsv`` when the file parses with CSV quoting and no quoted field spans lines (the
    readers' rule), else ``raw-tsv``; two streaming passes at most, no file held in memory."""
    try:
        with open_text(path) as handle:
            for _, fields in iter_csv_rows(path, handle, "\t", csv.QUOTE_MINIMAL):
                if any("\n" in cell or "\r" in cell for cell in fields):
                    return "raw-tsv"
    except MalformedRowError:
        return "raw-tsv"
    return "quoted-tsv"


def table_source(path: str | Path, text_columns: Sequence[str]) -> RowSource:
    """A generic ``.csv`` / ``.tsv`` / ``.jsonl`` (or ``.json``) training file with its text columns."""
    path = Path(path)
    names = check_text_columns(text_columns)
    kind = table_format(path)
    require_file(path)
    if kind == "json":
        with open_text(path) as handle:
            head = handle.read(4096).lstrip()
        is_array = path.suffix.lower() == ".json" and head.startswith("[")
        return RowSource(path, "json-array" if is_array else "jsonl", None, list(names), list(names))
    table_kind = "csv" if path.suffix.lower() == ".csv" else _tsv_quoting(path)
    delimiter = "," if table_kind == "csv" else "\t"
    quoting = csv.QUOTE_NONE if table_kind == "raw-tsv" else csv.QUOTE_MINIMAL
    first = first_row(path, delimiter, quoting)
    if first is None:
        raise TinyBertError(f"{path}: file is empty (expected a header row and data rows)")
    header = clean_header(first)
    indices = [column_index(path, name, header) for name in names]
    return RowSource(path, table_kind, first, indices, list(names), width=len(header))


def guess_text_column(path: Path) -> tuple[str, ...]:
    """``("sentence",)`` or ``("text",)``, whichever column the file has."""
    for name in ("sentence", "text"):
        try:
            source = table_source(path, [name])
            next(source.rows(), None)
        except TinyBertError as err:
            if "missing column" in str(err):
                continue
            raise
        return (name,)
    raise TinyBertError(f"{path}: no 'sentence' or 'text' column; name the text with --text-column")


def output_suffix_ok(source: RowSource, output: Path) -> bool:
    """Whether ``output``'s file type reads back in ``source``'s format with our readers."""
    out = output.suffix.lower()
    if source.validate is not None:  # GLUE: any name works with --task ... --train, but keep .tsv honest
        return out == ".tsv"
    if source.kind in ("jsonl", "json-array"):
        return out in JSON_SUFFIXES and (source.kind == "jsonl" or out == ".json")
    return out == source.path.suffix.lower()


def check_output(output: Path, overwrite: bool, inputs: Sequence[Path]) -> None:
    """Refuse a folder, any of ``inputs``, and an existing file unless ``overwrite``."""
    if output is None:
        raise TinyBertError("--output: required (the file to write)")
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
    with atomic_file(output) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        yield handle
