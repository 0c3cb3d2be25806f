"""The reference build is reproducible: same seed, same ONNX bytes."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("onnx")
pytest.importorskip("sklearn", reason="the reference build needs scikit-learn")

DERIVED = ("joint_tokenizer", "stream_tokenizer")  # graphs from the fitted tokenizer's constants


@pytest.mark.slow
@pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("flite") and shutil.which("sox")),
    reason="espeak-ng, flite and sox needed",
)
def test_reduced_build_is_deterministic(tmp_path):
    from voxgate.reference import build

    hashes = []
    for run in ("a", "b"):
        out = tmp_path / run
        assert build.main(["--reduced", "--seed", "3", "--out", str(out)]) == 0
        man = json.loads((out / "reference_manifest.json").read_text())
        assert man["seed"] == 3 and man["reduced"] is True
        hashes.append({k: v["sha256"] for k, v in man["models"].items()})
        for entry in man["models"].values():
            assert (out / entry["path"]).is_file()
    assert hashes[0] == hashes[1]
    # Adding the derived graphs to a build (as the committed one got them) writes the same bytes
    files = [out / e["path"] for k, e in man["models"].items() if k.split("/")[0] in DERIVED]
    full = {f: f.read_bytes() for f in files}
    for f in files:
        f.unlink()
    assert build.main(["--out", str(out), *(a for d in DERIVED for a in ("--only", d))]) == 0
    assert {f: f.read_bytes() for f in files} == full
