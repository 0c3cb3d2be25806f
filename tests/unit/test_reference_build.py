"""The reference build is reproducible: same seed, same ONNX bytes."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("onnx")
pytest.importorskip("sklearn", reason="the reference build needs scikit-learn")


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
        for name in man["models"]:
            assert (out / name / "1" / "model.onnx").is_file()
    assert hashes[0] == hashes[1]
    # Adding the joint tokenizer to a build (as the committed one got it) writes the same bytes
    full = (out / "joint_tokenizer" / "1" / "model.onnx").read_bytes()
    (out / "joint_tokenizer" / "1" / "model.onnx").unlink()
    assert build.main(["--only", "joint_tokenizer", "--out", str(out)]) == 0
    assert (out / "joint_tokenizer" / "1" / "model.onnx").read_bytes() == full
