"""Style instructions, typed fields and what an engine reports it could not apply."""

from __future__ import annotations

import pytest
from voxgate.core import style
from voxgate.core.style import Capabilities, Style, parse_instruction, resolve
from voxgate.errors import InvalidArgument

REFERENCE = Capabilities("reference")


@pytest.mark.parametrize(
    "instruction,style",
    [
        ("speak slowly and happily", Style(speed=0.8, emotion="happy")),
        ("very slowly please", Style(speed=0.6)),
        ("(高兴1)(慢速1)", Style(speed=0.8, emotion="happy")),
        ("(粤语)", Style(dialect="粤语")),
        ("loud, high pitched voice", Style(pitch_semitones=4.0, volume_db=6.0)),
        ("whisper", Style(emotion="whisper")),
    ],
)
def test_instructions(instruction, style):
    assert parse_instruction(instruction) == (style, [])


def test_unknown_parts_are_reported():
    style, unknown = parse_instruction("in a sarcastic tone (神秘1)")
    assert style == Style()
    assert unknown == ["(神秘1)", "sarcastic"]


def test_typed_fields_win_over_the_instruction():
    applied, not_applied = resolve(Style(speed=1.5), "slowly", REFERENCE)
    assert applied.speed == 1.5 and not_applied == []


def test_what_the_engine_cannot_do_is_reported_not_dropped():
    applied, not_applied = resolve(Style(dialect="粤语"), "happily and slowly", REFERENCE)
    assert applied == Style(speed=0.8)
    assert not_applied == [
        "emotion=happy: not supported by the reference engine",
        "dialect=粤语: not supported by the reference engine",
    ]
    silent = Capabilities("mute", speed=False, volume=False)
    applied, not_applied = resolve(Style(speed=1.2, volume_db=3), "", silent)
    assert applied == Style()
    assert len(not_applied) == 2


@pytest.mark.parametrize(
    "style,field",
    [
        (Style(speed=3.0), "style.speed"),
        (Style(speed=0.1), "style.speed"),
        (Style(pitch_semitones=13), "style.pitch_semitones"),
        (Style(volume_db=20), "style.volume_db"),
    ],
)
def test_out_of_range_is_invalid_argument_with_the_field(style, field):
    with pytest.raises(InvalidArgument) as info:
        resolve(style, "", REFERENCE)
    assert info.value.violations[0].field == field


def test_step_audio_prefixes() -> None:
    applied, not_applied = style.resolve(
        style.Style(pitch_semitones=2), "(高兴1)(粤语) slowly", style.STEP_AUDIO
    )
    assert applied.pitch_semitones is None and any("pitch_semitones=2" in n for n in not_applied)
    assert style.step_audio_prefix(applied) == "(高兴1)(粤语)(慢速1)"
    assert style.step_audio_prefix(style.Style()) == ""
    assert style.step_audio_prefix(style.Style(emotion="sad", speed=1.7)) == "(悲伤1)(快速2)"


def test_step_audio_speed_tags_nearest_in_log_ratio() -> None:
    assert style.step_audio_speed(None) == ("", None)
    assert style.step_audio_speed(1.05) == ("", None)
    assert style.step_audio_speed(0.85) == ("慢速1", 0.8)
    assert style.step_audio_speed(0.5) == ("慢速2", 0.6)
    assert style.step_audio_speed(1.3) == ("快速1", 1.25)
    assert style.step_audio_speed(2.0) == ("快速2", 1.6)
