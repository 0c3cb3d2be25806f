"""protobuf <-> internal types. The only place that knows both."""

from __future__ import annotations

import numpy as np

from voxgate import audio as audiolib
from voxgate.core import style as styles
from voxgate.core import synthesis
from voxgate.core.tokenization import AudioSource, ContainerAudio, RawAudio
from voxgate.core.voices import Voice
from voxgate.errors import InvalidArgument
from voxgate.interleave import (
    Tokens,
    deinterleave,
    from_text,
    to_text,
    validate_interleaved,
    validate_streams,
)
from voxgate.v1 import audio_pb2, synthesis_pb2, tokenizer_pb2, tokens_pb2

_ENCODINGS = {
    audio_pb2.PCM_ENCODING_S16LE: audiolib.Encoding.S16LE,
    audio_pb2.PCM_ENCODING_S24LE: audiolib.Encoding.S24LE,
    audio_pb2.PCM_ENCODING_S32LE: audiolib.Encoding.S32LE,
    audio_pb2.PCM_ENCODING_F32LE: audiolib.Encoding.F32LE,
    audio_pb2.PCM_ENCODING_MULAW: audiolib.Encoding.MULAW,
    audio_pb2.PCM_ENCODING_ALAW: audiolib.Encoding.ALAW,
}
_ENCODING_TO_PB = {v: k for k, v in _ENCODINGS.items()}
_CONTAINERS = {
    audio_pb2.AUDIO_CONTAINER_RAW: audiolib.Container.RAW,
    audio_pb2.AUDIO_CONTAINER_WAV: audiolib.Container.WAV,
    audio_pb2.AUDIO_CONTAINER_FLAC: audiolib.Container.FLAC,
    audio_pb2.AUDIO_CONTAINER_OGG: audiolib.Container.OGG,
    audio_pb2.AUDIO_CONTAINER_MP3: audiolib.Container.MP3,
}
_CONTAINER_TO_PB = {v: k for k, v in _CONTAINERS.items()}
PCM_ENCODINGS = list(_ENCODINGS)
CONTAINERS = list(_CONTAINERS)


def pcm_format(msg: audio_pb2.RawAudioFormat, field: str) -> audiolib.PcmFormat:
    encoding = _ENCODINGS.get(msg.encoding)
    if encoding is None:
        raise InvalidArgument(f"{field}.encoding: unknown or unspecified PCM encoding")
    return audiolib.PcmFormat(encoding, msg.sample_rate_hz, msg.channels).validate(field)


def audio_source(msg: audio_pb2.AudioInput, field: str = "audio") -> AudioSource:
    kind = msg.WhichOneof("source")
    if kind == "container":
        return ContainerAudio(msg.container)
    if kind == "raw":
        return RawAudio(msg.raw.data, pcm_format(msg.raw.format, f"{field}.raw.format"))
    raise InvalidArgument(f"{field}: required (container bytes or raw PCM)")


def stream_format(
    msg: audio_pb2.StreamAudioFormat, field: str = "config.format"
) -> tuple[audiolib.Container, audiolib.PcmFormat | None]:
    container = _CONTAINERS.get(msg.container)
    if container is None:
        raise InvalidArgument(f"{field}.container: required (RAW, WAV, FLAC, OGG or MP3)")
    raw = pcm_format(msg.raw, f"{field}.raw") if container is audiolib.Container.RAW else None
    return container, raw


def output_format(msg: audio_pb2.OutputAudioFormat) -> audiolib.OutputFormat:
    container = (
        audiolib.Container.WAV
        if msg.container == audio_pb2.AUDIO_CONTAINER_UNSPECIFIED
        else _CONTAINERS.get(msg.container)
    )
    if container is None:
        raise InvalidArgument("output_format.container: unknown container")
    encoding = (
        audiolib.Encoding.S16LE
        if msg.encoding == audio_pb2.PCM_ENCODING_UNSPECIFIED
        else _ENCODINGS.get(msg.encoding)
    )
    if encoding is None:
        raise InvalidArgument("output_format.encoding: unknown encoding")
    return audiolib.OutputFormat(container, encoding, msg.sample_rate_hz)


def output_format_pb(fmt: audiolib.OutputFormat) -> audio_pb2.OutputAudioFormat:
    return audio_pb2.OutputAudioFormat(
        container=_CONTAINER_TO_PB[fmt.container],
        encoding=_ENCODING_TO_PB[fmt.encoding],
        sample_rate_hz=fmt.sample_rate,
    )


def detokenize_tokens(msg: tokenizer_pb2.DetokenizeRequest) -> Tokens:
    kind = msg.WhichOneof("tokens")
    if kind == "interleaved":
        return deinterleave(validate_interleaved(np.asarray(msg.interleaved.ids, np.int64)))
    if kind == "streams":
        return validate_streams(msg.streams.linguistic, msg.streams.semantic)
    if kind == "text":
        return deinterleave(validate_interleaved(from_text(msg.text), "text"))
    raise InvalidArgument("tokens: required (interleaved, streams or text)")


def tokens_pb(tokens: Tokens, include_text: bool) -> tokens_pb2.AudioTokens:
    ids = tokens.interleaved()
    return tokens_pb2.AudioTokens(
        linguistic=tokens.linguistic.tolist(),
        semantic=tokens.semantic.tolist(),
        interleaved=ids.tolist(),
        text=to_text(ids) if include_text else "",
        group_count=tokens.group_count,
    )


def audio_output_pb(
    data: bytes, fmt: audiolib.OutputFormat, duration_seconds: float
) -> audio_pb2.AudioOutput:
    return audio_pb2.AudioOutput(
        data=data, format=output_format_pb(fmt), duration_seconds=duration_seconds
    )


def style(msg: synthesis_pb2.SpeechStyle) -> styles.Style:
    """Typed style fields; 0 / "" mean unset."""
    return styles.Style(
        speed=msg.speed or None,
        pitch_semitones=msg.pitch_semitones or None,
        volume_db=msg.volume_db or None,
        emotion=msg.emotion,
        dialect=msg.dialect,
    )


def style_pb(s: styles.Style) -> synthesis_pb2.SpeechStyle:
    return synthesis_pb2.SpeechStyle(
        speed=s.speed or 0.0,
        pitch_semitones=s.pitch_semitones or 0.0,
        volume_db=s.volume_db or 0.0,
        emotion=s.emotion,
        dialect=s.dialect,
    )


def prompt(msg: synthesis_pb2.VoicePrompt, field: str = "prompt") -> synthesis.Prompt:
    if not msg.HasField("audio"):
        raise InvalidArgument(f"{field}.audio: required")
    return synthesis.Prompt(audio_source(msg.audio, f"{field}.audio"), msg.transcript)


def synthesis_request(msg: synthesis_pb2.SynthesizeRequest) -> synthesis.SynthesisRequest:
    return synthesis.SynthesisRequest(
        text=msg.text,
        voice=msg.voice,
        prompt=prompt(msg.prompt) if msg.HasField("prompt") else None,
        style=style(msg.style),
        instruction=msg.style_instruction,
    )


def report_pb(report: synthesis.Report) -> synthesis_pb2.SynthesisReport:
    return synthesis_pb2.SynthesisReport(
        engine=report.engine,
        voice=report.voice,
        applied=style_pb(report.applied),
        not_applied=report.not_applied,
        normalized_text=report.normalized_text,
    )


def voice_pb(v: Voice) -> synthesis_pb2.Voice:
    f = v.features
    return synthesis_pb2.Voice(
        id=v.id,
        name=v.name,
        builtin=v.builtin,
        transcript=v.transcript,
        consent_note=v.consent_note,
        created_unix=v.created_unix,
        pitch_median_hz=f.pitch_median_hz if f else 0.0,
        speaking_rate=f.speaking_rate if f else 0.0,
        prompt_seconds=f.duration_s if f else 0.0,
        audio_stored=v.audio is not None,
    )
