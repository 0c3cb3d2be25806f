"""Test certificates from scripts/make_test_certs.py (one generator for every language)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_test_certs.py"


def make_certs(folder: Path, client_name: str = "test-client") -> Path:
    spec = importlib.util.spec_from_file_location("make_test_certs", _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make(folder, client_name)
