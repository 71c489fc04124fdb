"""Shared fixtures. Qt runs offscreen so that the suite needs no display."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DATA = Path(__file__).parent / "data"
ASSETS = Path(__file__).parent.parent / "assets"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def assets_dir() -> Path:
    return ASSETS
