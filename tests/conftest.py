"""Shared fixtures (builders in :mod:`builders`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import make_model, write_sst2


@pytest.fixture
def tiny_teacher(tmp_path: Path) -> Path:
    return make_model(tmp_path / "teacher")


@pytest.fixture
def sst2_dir(tmp_path: Path) -> Path:
    return write_sst2(tmp_path / "SST-2")
