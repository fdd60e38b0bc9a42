"""Output folders: refuse to clobber, write atomically, never touch the user's inputs."""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tinybert.errors import TinyBertError


def check_overlap(output: Path, inputs: dict[str, str | Path | None]) -> None:
    """``output`` must be a folder (or not exist) and neither be, contain nor lie inside an input."""
    if output is None:
        raise TinyBertError("--output: required (the folder to write)")
    if output.exists() and not output.is_dir():
        raise TinyBertError(f"--output {output}: exists and is a file, expected a folder")
    resolved = output.resolve()
    for option, path in inputs.items():
        if path is None or not Path(path).exists():
            continue
        source = Path(path).resolve()
        if resolved == source or source in resolved.parents or resolved in source.parents:
            raise TinyBertError(f"--output {output}: overlaps {option} {path}; choose a separate folder")


def prepare_output(output: Path, overwrite: bool, inputs: dict[str, str | Path | None]) -> Path:
    """Check that ``output`` may be written and create it.

    Refuses a non-empty existing folder unless ``overwrite``, and always refuses a folder that
    is, contains or lies inside one of ``inputs`` (option name -> path), so a run can never
    overwrite the teacher or the data it reads.
    """
    output = Path(output)
    check_overlap(output, inputs)
    if output.exists() and any(output.iterdir()) and not overwrite:
        raise TinyBertError(f"--output {output}: folder exists and is not empty; pass --overwrite to replace it")
    try:
        output.mkdir(parents=True, exist_ok=True)
        probe = output / ".tinybert-write-check"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise TinyBertError(f"--output {output}: cannot write there ({err.strerror or err})") from None
    return output


WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG})
"""OSError numbers that mean the output cannot be written (disk full, read-only, no permission)."""


def write_failure(err: OSError, option: str, output: Path) -> TinyBertError | None:
    """The one-line error for a failed write of ``output`` (None when ``err`` is not a write failure)."""
    if err.errno not in WRITE_ERRNOS:
        return None
    where = f" {err.filename}" if err.filename else ""
    return TinyBertError(f"{option} {output}: cannot write{where} ({err.strerror or err}); nothing was kept")


def replace_dir(tmp: Path, final: Path) -> None:
    """Move the finished folder ``tmp`` to ``final``, swapping out any old one; the old one is
    deleted only after the new one is in place, so an interruption leaves one complete copy."""
    old = final.with_name(final.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    if old.exists():
        shutil.rmtree(old)


@contextmanager
def atomic_file(path: Path, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside ``path`` (``NAME.tmp`` + ``suffix``, e.g. ``.png`` for a writer that
    reads the format off the name) to write the file into. When the block ends it replaces ``path``
    in one rename; when it raises, the temporary file is removed and ``path`` is left as it was.
    The one way tinybert writes a file that must never be seen half-written."""
    tmp = path.with_name(path.name + ".tmp" + suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_folder(final: Path, fsync: bool = False) -> Iterator[Path]:
    """A fresh temporary folder beside ``final`` (``NAME.tmp``) to fill. When the block ends it
    replaces ``final`` (:func:`replace_dir`; with ``fsync``, each file is flushed to disk first);
    when it raises, the temporary folder is removed and ``final`` is left as it was. The one way
    tinybert writes a folder (a model, a checkpoint, an export)."""
    tmp = final.with_name(final.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        if fsync:
            for file in (p for p in tmp.rglob("*") if p.is_file()):
                with file.open("rb") as handle:
                    os.fsync(handle.fileno())
        replace_dir(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: Path, data: object) -> None:
    """Write JSON atomically (:func:`atomic_file`)."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


@contextmanager
def output_folder(output: Path, overwrite: bool, inputs: dict[str, str | Path | None]) -> Iterator[Path]:
    """:func:`prepare_output`, and remove the folder again if the run fails on bad input.

    A folder this run created is deleted when a :class:`TinyBertError` escapes, so fixing the
    input and running the same command again works without ``--overwrite``. A folder that
    existed before is left as it is.
    """
    existed = Path(output).exists()
    path = prepare_output(output, overwrite, inputs)
    try:
        yield path
    except TinyBertError:
        _clean(path, existed)
        raise
    except OSError as err:
        _clean(path, existed)
        failure = write_failure(err, "--output", path)
        if failure is None:
            raise
        raise failure from None


def _clean(path: Path, existed: bool) -> None:
    """Remove a folder this run created; in one that existed, the run's ``*.tmp`` leftovers."""
    if not existed:
        shutil.rmtree(path, ignore_errors=True)
        return
    for tmp in path.glob("**/*.tmp"):
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def _interrupted(output: Path) -> Path | None:
    """A checkpoint folder left by a run that did not finish (``checkpoints/`` anywhere inside)."""
    return next((p for p in sorted(output.rglob("checkpoints")) if p.is_dir() and any(p.iterdir())), None)


@contextmanager
def run_folder(output: Path, overwrite: bool, resume: bool, inputs: dict[str, str | Path | None]) -> Iterator[Path]:
    """The output folder of a training command: :func:`output_folder`, plus resuming.

    ``resume``: the folder must hold the checkpoints of an interrupted run, and is kept as it is.
    Otherwise a folder left by an interrupted run is refused with a message naming ``--resume``,
    and ``overwrite`` empties the folder first, so no stale log or checkpoint survives.
    """
    output = Path(output)
    check_overlap(output, inputs)
    if resume:
        if output.is_dir() and _interrupted(output) is not None:
            with output_folder(output, True, inputs) as path:
                yield path
            return
        raise TinyBertError(f"--resume: {output} holds no checkpoints of an interrupted run to continue")
    if output.is_dir() and any(output.iterdir()):
        left = _interrupted(output)
        if not overwrite:
            if left is not None:
                raise TinyBertError(
                    f"--output {output}: holds an interrupted run ({left.relative_to(output)}/); pass --resume to "
                    "continue it, or --overwrite to start again"
                )
            raise TinyBertError(f"--output {output}: folder exists and is not empty; pass --overwrite to replace it")
        for item in output.iterdir():
            shutil.rmtree(item) if item.is_dir() else item.unlink()
    with output_folder(output, overwrite, inputs) as path:
        yield path


@contextmanager
def shared_run_folder(
    output: Path, overwrite: bool, resume: bool, inputs: dict[str, str | Path | None], accelerator: Any
) -> Iterator[Path]:
    """:func:`run_folder` on the main process only; the other processes wait until it is ready
    and never create, move or delete anything in it."""
    if accelerator.is_main_process:
        with run_folder(output, overwrite, resume, inputs) as path:
            accelerator.wait_for_everyone()
            yield path
    else:
        accelerator.wait_for_everyone()
        yield Path(output)
