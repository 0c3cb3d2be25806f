"""protobuf <-> internal types. The only place that knows both."""

from __future__ import annotations

import numpy as np

from voxgate import audio as audiolib
from voxgate.core import chat, synthesis
from voxgate.core import style as styles
from voxgate.core.tokenization import AudioSource, ContainerAudio, RawAudio
from voxgate.core.turns import TurnSettings
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
from voxgate.v1 import audio_pb2, chat_pb2, synthesis_pb2, tokenizer_pb2, tokens_pb2

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
_TURN_MODES = (
    chat_pb2.TURN_DETECTION_MODE_UNSPECIFIED,
    chat_pb2.TURN_DETECTION_MODE_SERVER_VAD,
    chat_pb2.TURN_DETECTION_MODE_MANUAL,
)
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


def chat_options(msg: chat_pb2.ChatConfig, max_reply_tokens: int) -> chat.ChatOptions:
    """ChatConfig -> validated options (INVALID_ARGUMENT naming the bad field)."""
    td = msg.turn_detection
    if td.mode not in _TURN_MODES:
        raise InvalidArgument("config.turn_detection.mode: unknown mode")
    defaults = TurnSettings()
    silence = td.silence_ms or defaults.silence_ms
    padding = td.prefix_padding_ms or defaults.prefix_padding_ms
    threshold = td.threshold or defaults.threshold
    if not 100 <= silence <= 5000:
        raise InvalidArgument("config.turn_detection.silence_ms: outside 100..5000")
    if not 0 <= padding <= 1000:
        raise InvalidArgument("config.turn_detection.prefix_padding_ms: outside 0..1000")
    if not 0.1 <= threshold <= 0.95:
        raise InvalidArgument("config.turn_detection.threshold: outside 0.1..0.95")
    if not 0 <= msg.max_reply_tokens <= max_reply_tokens:
        raise InvalidArgument(f"config.max_reply_tokens: outside 0..{max_reply_tokens}")
    temperature = msg.temperature if msg.HasField("temperature") else None
    if temperature is not None and not 0.0 <= temperature <= 2.0:
        raise InvalidArgument("config.temperature: outside 0..2")
    input_format = None
    if msg.HasField("input_format"):
        input_format = stream_format(msg.input_format, "config.input_format")
        if input_format[0] not in (audiolib.Container.RAW, audiolib.Container.WAV):
            raise InvalidArgument(
                "config.input_format.container: a conversation streams RAW or WAV audio"
            )
    return chat.ChatOptions(
        system_prompt=msg.system_prompt,
        voice=msg.voice,
        text_only=msg.text_only,
        input_format=input_format,
        server_vad=td.mode != chat_pb2.TURN_DETECTION_MODE_MANUAL,
        turn=TurnSettings(silence, padding, threshold),
        max_reply_tokens=msg.max_reply_tokens,
        temperature=temperature,
        seed=msg.seed if msg.HasField("seed") else None,
    )


def chat_input(msg: chat_pb2.ChatRequest) -> chat.Input:
    kind = msg.WhichOneof("message")
    if kind == "input":
        content = msg.input.WhichOneof("content")
        if content == "text":
            return chat.TextIn(msg.input.text, msg.input.end_of_turn)
        if content == "audio":
            return chat.AudioIn(msg.input.audio, msg.input.end_of_turn)
        if msg.input.end_of_turn:
            return chat.EndOfTurn()
        raise InvalidArgument("input: empty (no text, no audio, no end_of_turn)")
    if kind == "interrupt":
        return chat.Interrupt()
    if kind == "playback":
        return chat.PlaybackAck(msg.playback.turn_index, msg.playback.played_ms)
    if kind == "config":
        raise InvalidArgument("config: only the first message may carry a config")
    raise InvalidArgument("message: empty ChatRequest")


def turn_end_pb(e: chat.TurnEnded) -> chat_pb2.TurnEnd:
    return chat_pb2.TurnEnd(
        text=e.text,
        user_transcript=e.user_transcript,
        interrupted=e.interrupted,
        heard_text=e.heard_text,
        latency=chat_pb2.TurnLatency(
            transcript_ms=e.latency.transcript_ms,
            first_text_ms=e.latency.first_text_ms,
            first_audio_ms=e.latency.first_audio_ms,
        ),
        reply_tokens=e.reply_tokens,
        audio_seconds=e.audio_seconds,
    )
