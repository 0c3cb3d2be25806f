"""Reproducible build of the reference models: ``python -m voxgate.reference.build``.

``--only speaker_adapter`` writes just that graph (it has no fitted constants, so it needs no
corpus) and records it in the existing manifest, leaving the fitted models as they are;
``--only joint_tokenizer`` and ``--only stream_tokenizer`` do the same for the graphs derived
from the fitted tokenizer's constants (the same bytes a full build writes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import onnx

from .. import __version__
from ..interleave import LINGUISTIC_CODES
from ..model_names import STREAM_TOKENIZER
from . import corpus, decoder, dsp, fit, onnx_export, refiner, speaker

DEFAULT_OUT = Path(__file__).resolve().parents[3] / "triton_models"
CONTEXT_GROUPS = 2
_CORPUS = {"espeak_per_sentence": 2, "piper_every": corpus.PIPER_EVERY}
FULL = {"sentences": 300, **_CORPUS, "warps": fit.WARPS, "epochs": refiner.EPOCHS}
REDUCED = {"sentences": 36, **_CORPUS, "warps": (1.0, 1.15), "epochs": 4}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _save(model: onnx.ModelProto, out: Path, name: str, file: str = "model.onnx") -> dict:
    path = out / name / "1" / file
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return {"path": f"{name}/1/{file}", "sha256": _sha256(path), "bytes": path.stat().st_size}


def _save_files(files: dict[str, onnx.ModelProto], out: Path, name: str) -> dict[str, dict]:
    """Manifest entries of a model folder's files: `name` for model.onnx, `name/stem` else."""
    return {
        name if file == "model.onnx" else f"{name}/{file.removesuffix('.onnx')}": _save(
            model, out, name, file
        )
        for file, model in files.items()
    }


SPEAKER_SHIFT = {
    "size": speaker.SHIFT_SIZE,
    "layout": [f"dcep0..dcep{dsp.N_CEP - 1}", "dlog_f0"],
    "log_f0_range_hz": [round(float(v), 3) for v in (dsp.F0_MIN / 2, dsp.F0_MAX * 2)],
}


def _only(out: Path, names: list[str]) -> int:
    """Writes the graphs `names` (onnx_export.ADDABLE) and records them in the existing manifest."""
    path = out / "reference_manifest.json"
    if not path.exists():
        print(f"{path} missing: run a full build first", file=sys.stderr)
        return 2
    manifest = json.loads(path.read_text())
    models = manifest.pop("models")
    for name in names:
        written = _save_files(onnx_export.ADDABLE[name](out), out, name)
        models |= written
        for entry in written.values():
            print(f"wrote {out / entry['path']}", file=sys.stderr)
    manifest |= {"speaker_shift": SPEAKER_SHIFT, "models": models}  # a full build's key order
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="voxgate.reference.build", description=__doc__)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--reduced", action="store_true", help="small corpus, for CI (~2 min)")
    ap.add_argument("--context-groups", type=int, default=CONTEXT_GROUPS, choices=range(1, 5))
    ap.add_argument(
        "--only",
        action="append",
        choices=sorted(onnx_export.ADDABLE),
        help="write only this graph (parameter-free or derived) into a build (repeatable)",
    )
    args = ap.parse_args(argv)
    if args.only:
        return _only(args.out, args.only)
    cfg = REDUCED if args.reduced else FULL
    t0 = time.time()

    def log(msg: str) -> None:
        print(f"[{time.time() - t0:6.1f}s] {msg}", file=sys.stderr, flush=True)

    items = corpus.plan(args.seed, cfg["sentences"], cfg["espeak_per_sentence"], cfg["piper_every"])
    wavs = corpus.synthesize_all(items, workers=min(4, os.cpu_count() or 1))
    seconds = float(sum(len(w) for w in wavs)) / dsp.SR
    log(f"corpus: {len(wavs)} utterances, {seconds / 60:.1f} min")
    analyses: list = []
    prm = fit.fit(
        wavs, args.context_groups, args.seed, warps=cfg["warps"], log=log, analyses=analyses
    )
    log("codebook fitted; training the refiner")
    seqs = fit.refiner_sequences(wavs, analyses, prm)
    del analyses
    rprm = refiner.train(seqs, prm.dec_table, args.seed, epochs=cfg["epochs"], log=log)
    row_scale, row_offset = decoder.postfilter_rows(
        prm.mu, decoder.POSTFILTER_SHARPEN, decoder.LEVEL_TRIM_DB
    )
    dprm = decoder.DecoderParams(
        prm.dec_table, refiner=rprm, row_scale=row_scale, row_offset=row_offset
    )
    log("refiner trained; exporting")
    models = onnx_export.export_all(prm, dprm)
    hashes = {name: _save(model, args.out, name) for name, model in models.items()}
    hashes |= _save_files(onnx_export.stream_graphs(prm), args.out, STREAM_TOKENIZER)
    manifest = {
        "voxgate_version": __version__,
        "profile": "reference",
        "seed": args.seed,
        "reduced": bool(args.reduced),
        "corpus": {
            "sentences": cfg["sentences"],
            "sentence_source": "voxgate.reference.corpus.sentences(seed, n, split='train')",
            "utterances": len(wavs),
            "minutes": round(seconds / 60, 2),
            "flite_voices": list(corpus.FLITE_TRAIN_VOICES),
            "espeak_voices": list(corpus.ESPEAK_VOICES),
            "espeak_variants": list(corpus.ESPEAK_VARIANTS),
            "espeak_speed_wpm": [140, 185],
            "espeak_pitch": [30, 70],
            "espeak_per_sentence": cfg["espeak_per_sentence"],
            "piper_voices": list(corpus.PIPER_VOICES),
            "piper_every": cfg["piper_every"],
            "piper_length_percent": list(corpus.PIPER_LENGTH_PERCENT),
            "frequency_warps": list(cfg["warps"]),
            "held_out_voices": [
                f"flite {corpus.HELD_OUT_FLITE_VOICE}",
                f"espeak-ng {corpus.HELD_OUT_ESPEAK_VOICE}+{corpus.HELD_OUT_ESPEAK_VARIANT}",
            ],
        },
        "context_groups": args.context_groups,
        "decoder_context_groups": decoder.DECODER_CONTEXT_GROUPS,
        "refiner": {
            "window_semantic_tokens": refiner.WINDOW,
            "hidden": refiner.HIDDEN,
            "epochs": cfg["epochs"],
            "targets": "analysed c0 and aperiodicity; envelope shape normalised as the tokens",
            "postfilter_sharpen": decoder.POSTFILTER_SHARPEN,
            "level_trim_db": decoder.LEVEL_TRIM_DB,
        },
        "sample_rate": dsp.SR,
        "linguistic": {
            "hop": dsp.LING_HOP,
            "codes": LINGUISTIC_CODES,
            "layout": "f0_level * 32 + gain_correction; f0_level 31 = unvoiced",
        },
        "semantic": {
            "hop": dsp.SEM_HOP,
            "codes": len(prm.codebook),
            "vector_dims": int(prm.codebook.shape[1]),
        },
        "acoustic_features": {
            "frames_per_group": dsp.FRAMES_PER_GROUP,
            "frame_hop": dsp.HOP,
            "size": dsp.N_FEAT,
            "layout": [
                f"cep0..cep{dsp.N_CEP - 1}",
                "log_f0_hz",
                "voiced_weight",
                "noise_weight",
                "noise_segment",
            ],
        },
        "speaker_shift": SPEAKER_SHIFT,
        "models": hashes,
    }
    (args.out / "reference_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    total = sum(h["bytes"] for h in hashes.values())
    log(f"wrote {len(hashes)} models ({total / 1e6:.1f} MB) and manifest to {args.out}")

    return 0


if __name__ == "__main__":
    raise SystemExit(main())
