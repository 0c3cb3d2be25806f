"""Service availability from a deployment snapshot: absent, not ready, ready; health map."""

from __future__ import annotations

import dataclasses

import pytest
from voxgate import model_names
from voxgate.core.deployment import Availability, Deployment
from voxgate.errors import Unimplemented
from voxgate.registry import ServiceSet, default_services

TOKENIZER, SYNTHESIS, CHAT, DISCOVERY = (
    "voxgate.v1.TokenizerService",
    "voxgate.v1.SynthesisService",
    "voxgate.v1.ChatService",
    "voxgate.v1.DiscoveryService",
)
REFERENCE = dict.fromkeys(
    (*model_names.ENSEMBLES, *model_names.ONNX_MODELS, *model_names.SPEAKER_MODELS), True
)


def _set(models: dict[str, bool] | None, reachable: bool = True) -> ServiceSet:
    services = ServiceSet(default_services())
    if models is not None:
        services.deployment = Deployment(models, known=True, reachable=reachable)
    return services


def test_every_api_service_is_registered_once():
    names = [e.name for e in default_services()]
    assert sorted(names) == sorted([TOKENIZER, SYNTHESIS, CHAT, DISCOVERY])


def test_reference_deployment_serves_tokenizer_and_discovery_only():
    s = _set(REFERENCE)
    assert s.implemented() == [TOKENIZER, DISCOVERY]
    assert s.health() == {TOKENIZER: True, SYNTHESIS: False, CHAT: False, DISCOVERY: True, "": True}
    with pytest.raises(Unimplemented, match=r"ChatService is not served here: .* no vad, asr"):
        s.admit(CHAT)
    s.admit(TOKENIZER)


def test_a_model_still_loading_is_not_ready_not_absent():
    # TokenizerService needs its ensembles; Triton holds an ensemble unready while a step loads
    s = _set({**REFERENCE, model_names.DETOKENIZE: False})
    assert s.availability(TOKENIZER) is Availability.NOT_READY
    assert s.health()[""] is False and s.health()[DISCOVERY] is True
    s.admit(TOKENIZER)  # not refused: Triton answers UNAVAILABLE while it loads


def test_adding_the_models_makes_a_service_appear():
    s = _set({**REFERENCE, model_names.TTS_GENERATOR: True})
    assert SYNTHESIS in s.implemented()
    assert s.health()[SYNTHESIS] is True


def test_synthesis_needs_the_speaker_conditioned_decoder():
    models = {**REFERENCE, model_names.TTS_GENERATOR: True}
    del models[model_names.DETOKENIZE_VOICE]
    assert SYNTHESIS not in _set(models).implemented()


def test_chat_needs_vad_asr_llm_and_speech():
    chat_models = (model_names.VAD, model_names.ASR, model_names.CHAT_LLM)
    models = {**REFERENCE, model_names.TTS_GENERATOR: True, **dict.fromkeys(chat_models, True)}
    assert CHAT in _set(models).implemented()
    for missing in (*chat_models, model_names.TTS_GENERATOR):
        assert CHAT not in _set({k: v for k, v in models.items() if k != missing}).implemented()


def test_before_triton_answers_nothing_is_absent_and_nothing_needing_models_is_ready():
    s = _set(None)
    assert s.availability(SYNTHESIS) is Availability.NOT_READY
    assert s.availability(CHAT) is Availability.NOT_READY
    assert s.health() == {
        TOKENIZER: False,
        SYNTHESIS: False,
        CHAT: False,
        DISCOVERY: True,
        "": False,
    }
    s.admit(SYNTHESIS)


def test_triton_down_keeps_the_known_repository_but_nothing_ready():
    s = _set(REFERENCE)
    s.deployment = s.deployment.unreachable()
    assert s.availability(TOKENIZER) is Availability.NOT_READY
    assert s.availability(CHAT) is Availability.ABSENT  # its models are not in REFERENCE
    assert s.health()[""] is False


def test_deployment_requires_known_and_reachable_for_ready():
    assert Deployment({"a": True}, known=True, reachable=False).availability(("a",)) is (
        Availability.NOT_READY
    )
    assert Deployment().availability(()) is Availability.READY


def test_a_placeholder_service_stays_absent_whatever_the_deployment_holds():
    entries = [dataclasses.replace(e, implemented=e.name != CHAT) for e in default_services()]
    s = ServiceSet(entries)
    every_model = {m: True for e in entries for m in e.models}
    s.deployment = Deployment({**REFERENCE, **every_model}, known=True, reachable=True)
    assert CHAT not in s.implemented() and s.health()[CHAT] is False
    assert s.health()[""] is True  # the services it does have are all serving
    with pytest.raises(Unimplemented, match="not implemented on this server yet"):
        s.admit(CHAT)
