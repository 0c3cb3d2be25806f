"""Speaking style: typed fields, a free-text instruction parsed into them, and what an engine
can apply. Nothing requested is dropped silently: what an engine cannot do is reported."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

from voxgate.errors import InvalidArgument

SPEED_RANGE = (0.5, 2.0)
PITCH_RANGE = (-12.0, 12.0)
VOLUME_RANGE = (-30.0, 12.0)


@dataclass(frozen=True)
class Style:
    """How to speak; None / "" = the voice's default."""

    speed: float | None = None
    pitch_semitones: float | None = None
    volume_db: float | None = None
    emotion: str = ""
    dialect: str = ""

    def merged(self, override: Style) -> Style:
        """`override`'s set fields win over this style's."""
        values = {
            f.name: getattr(override, f.name)
            if getattr(override, f.name) not in (None, "")
            else getattr(self, f.name)
            for f in dataclasses.fields(self)
        }
        return Style(**values)

    def validate(self, field: str = "style") -> Style:
        for name, (lo, hi) in (
            ("speed", SPEED_RANGE),
            ("pitch_semitones", PITCH_RANGE),
            ("volume_db", VOLUME_RANGE),
        ):
            value = getattr(self, name)
            if value is not None and not lo <= value <= hi:
                raise InvalidArgument(f"{field}.{name}: {value:g} outside [{lo:g}, {hi:g}]")
        return self


# Step-Audio style prefixes: "(高兴1)(慢速1)", "(粤语)". Emotions and speeds it documents.
_STEP_EMOTIONS = {"高兴": "happy", "悲伤": "sad", "生气": "angry", "撒娇": "coquettish"}
_STEP_SPEEDS = {"慢速": 0.8, "快速": 1.25}
_STEP_DIALECTS = {"粤语": "粤语", "四川话": "四川话"}
_PREFIX = re.compile(r"[(（]([^()（）]+?)(\d*)[)）]")

# Words of a free-text instruction -> a style change.
_WORD_RULES: tuple[tuple[re.Pattern, dict], ...] = tuple(
    (re.compile(rf"\b(?:{words})\b", re.IGNORECASE), change)
    for words, change in (
        ("very slowly|very slow", {"speed": 0.6}),
        ("slowly|slow|slower", {"speed": 0.8}),
        ("very quickly|very fast", {"speed": 1.6}),
        ("quickly|fast|faster|rapidly", {"speed": 1.25}),
        ("loudly|loud|louder", {"volume_db": 6.0}),
        ("quietly|quiet|softly|soft|quieter", {"volume_db": -8.0}),
        ("high(?:er)? pitch(?:ed)?|high voice", {"pitch_semitones": 4.0}),
        ("low(?:er)? pitch(?:ed)?|deep voice|low voice", {"pitch_semitones": -4.0}),
        ("whisper(?:ing|ed)?", {"emotion": "whisper"}),
        ("happily|happy|cheerful(?:ly)?|joyful(?:ly)?", {"emotion": "happy"}),
        ("sadly|sad", {"emotion": "sad"}),
        ("angrily|angry", {"emotion": "angry"}),
        ("warmly|warm", {"emotion": "warm"}),
        ("cantonese", {"dialect": "粤语"}),
        ("sichuanese", {"dialect": "四川话"}),
    )
)


def parse_instruction(text: str) -> tuple[Style, list[str]]:
    """A free-text instruction -> (style, parts that meant nothing to the parser).

    The first matching rule per field wins ("very slowly" before "slowly").
    """
    values: dict[str, object] = {}
    unknown: list[str] = []
    for match in _PREFIX.finditer(text):
        word = match.group(1).strip()
        if word in _STEP_EMOTIONS:
            values.setdefault("emotion", _STEP_EMOTIONS[word])
        elif word in _STEP_SPEEDS:
            values.setdefault("speed", _STEP_SPEEDS[word])
        elif word in _STEP_DIALECTS:
            values.setdefault("dialect", _STEP_DIALECTS[word])
        else:
            unknown.append(match.group(0))
    rest = _PREFIX.sub(" ", text)
    for pattern, change in _WORD_RULES:
        if pattern.search(rest):
            for key, value in change.items():
                values.setdefault(key, value)
            rest = pattern.sub(" ", rest)
    leftover = re.sub(
        r"\b(?:speak|talk|say it|read|in a|and|with|a|an|the|voice|tone|very|please)\b",
        " ",
        rest,
        flags=re.I,
    )
    if leftover.strip(" ,.;!"):
        unknown.append(" ".join(leftover.split()))
    return Style(**values), unknown  # type: ignore[arg-type]


@dataclass(frozen=True)
class Capabilities:
    """What one engine can apply."""

    name: str
    speed: bool = True
    pitch: bool = True
    volume: bool = True
    emotions: frozenset[str] = frozenset()
    dialects: frozenset[str] = frozenset()


def resolve(style: Style, instruction: str, engine: Capabilities) -> tuple[Style, list[str]]:
    """Typed style + instruction -> (what will be applied, what will not, and why)."""
    parsed, unknown = parse_instruction(instruction) if instruction else (Style(), [])
    wanted = parsed.merged(style).validate()
    not_applied = [f"style_instruction: did not understand {u!r}" for u in unknown]
    applied = wanted
    checks = (
        ("speed", engine.speed, wanted.speed is not None),
        ("pitch_semitones", engine.pitch, wanted.pitch_semitones is not None),
        ("volume_db", engine.volume, wanted.volume_db is not None),
    )
    for name, supported, requested in checks:
        if requested and not supported:
            not_applied.append(
                f"{name}={getattr(wanted, name):g}: not supported by the {engine.name} engine"
            )
            applied = dataclasses.replace(applied, **{name: None})
    for name, supported in (("emotion", engine.emotions), ("dialect", engine.dialects)):
        value = getattr(wanted, name)
        if value and value not in supported:
            not_applied.append(f"{name}={value}: not supported by the {engine.name} engine")
            applied = dataclasses.replace(applied, **{name: ""})
    return applied, not_applied


# -- the step-audio engine: styles become Step-Audio's text prefixes ------------------------------

_STEP_EMOTION_TAGS = {english: f"{tag}1" for tag, english in _STEP_EMOTIONS.items()}
# (tag, the speed it stands for): Step-Audio's two steps each way; 1.0 has no tag.
_STEP_SPEED_TAGS = (("慢速2", 0.6), ("慢速1", 0.8), ("快速1", 1.25), ("快速2", 1.6))

STEP_AUDIO = Capabilities(
    "step-audio",
    pitch=False,
    emotions=frozenset(_STEP_EMOTION_TAGS),
    dialects=frozenset(_STEP_DIALECTS.values()),
)


def step_audio_speed(speed: float | None) -> tuple[str, float | None]:
    """The speed tag nearest (in log ratio) to `speed` and the speed it stands for; no tag
    when 1.0 is nearer."""
    if speed is None:
        return "", None
    options = [("", 1.0), *_STEP_SPEED_TAGS]
    tag, value = min(options, key=lambda o: abs(math.log(speed / o[1])))
    return tag, (None if not tag else value)


def step_audio_prefix(style: Style) -> str:
    """A resolved style as Step-Audio's prefix, e.g. "(高兴1)(慢速1)" ('' for none)."""
    tags = []
    if style.emotion:
        tags.append(_STEP_EMOTION_TAGS[style.emotion])
    if style.dialect:
        tags.append(style.dialect)
    speed_tag, _ = step_audio_speed(style.speed)
    if speed_tag:
        tags.append(speed_tag)
    return "".join(f"({t})" for t in tags)
