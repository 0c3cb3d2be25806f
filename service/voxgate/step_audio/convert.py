"""`voxgate models convert step-audio`: Step-Audio's files -> a step-audio Triton repository.

Every source is checked before anything is written; the repository is written into a staging
folder beside OUT and renamed into place at the end, so a failed conversion leaves no half
repository behind.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import onnx

from voxgate import model_names as names
from voxgate.step_audio import graphs, repository, speaker
from voxgate.step_audio.sources import SourceError, decoder_sources, tokenizer_sources


class OutputError(Exception):
    """OUT cannot be written (exists and not empty without --force, or an OS error)."""


def convert(
    tokenizer_dir: Path,
    out: Path,
    tts_dir: Path | None = None,
    speaker_wav: Path | None = None,
    force: bool = False,
) -> dict:
    """Writes the repository; returns its manifest. Raises SourceError or OutputError."""
    tok = tokenizer_sources(tokenizer_dir)
    dec = decoder_sources(tts_dir) if tts_dir is not None else None
    if speaker_wav is not None and dec is None:
        raise SourceError(f"{speaker_wav}: a default speaker needs the decoder (--tts-dir)")
    if speaker_wav is not None and not speaker_wav.is_file():
        raise SourceError(f"{speaker_wav}: missing (the default speaker's recording)")
    if out.exists() and any(out.iterdir()) and not force:
        raise OutputError(f"{out}: exists and is not empty (use --force to replace it)")
    stage = out.with_name(out.name + ".converting")
    try:
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
        manifest = _write(stage, tok, dec, speaker_wav, tokenizer_dir, tts_dir)
        if out.exists():
            shutil.rmtree(out)
        stage.rename(out)
    except OSError as err:
        raise OutputError(f"{out}: cannot write ({err.strerror or err})") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return manifest


def _write(stage: Path, tok, dec, speaker_wav, tokenizer_dir: Path, tts_dir: Path | None) -> dict:
    ling = graphs.linguistic_tokenizer(onnx.load(str(tok.encoder)), tok.cmvn, tok.codebook)
    repository.write_model(stage, names.LINGUISTIC_TOKENIZER, ling)
    del ling
    sem = graphs.semantic_tokenizer(onnx.load(str(tok.speech_tokenizer)))
    repository.write_model(stage, names.SEMANTIC_TOKENIZER, sem)
    del sem
    ensembles = [names.TOKENIZE]
    sources = {"tokenizer": str(tokenizer_dir.resolve())}
    about_speaker: dict = {}
    if dec is not None:
        sources["tts"] = str(tts_dir.resolve())
        if speaker_wav is None:
            voice = speaker.neutral(dec.embedding_dim)
            about_speaker = {"recording": None, "note": "zero x-vector, no prompt (neutral)"}
        else:
            leaf = stage / "{}" / "1" / "model.onnx"
            voice, about_speaker = speaker.from_recording(
                speaker_wav,
                dec.campplus,
                Path(str(leaf).format(names.LINGUISTIC_TOKENIZER)),
                Path(str(leaf).format(names.SEMANTIC_TOKENIZER)),
            )
        flow = graphs.token_decoder(onnx.load(str(dec.flow)), voice)
        repository.write_model(stage, names.TOKEN_DECODER, flow)
        del flow
        repository.write_model(stage, names.VOCODER, graphs.vocoder(onnx.load(str(dec.hift))))
        ensembles.append(names.DETOKENIZE)
    repository.write_ensembles(stage, tuple(ensembles))
    return repository.write_manifest(stage, sources, about_speaker)
