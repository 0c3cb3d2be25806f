"""triton_models/chat_llm/1/transformers_engine.py, the `transformers` engine of chat_llm, on tiny
random-weight models built here (tests/tiny_chat_model.py): prompt rendering (the chat template,
Step-Audio-Chat's format with audio tokens), load checks, sampling, the KV-cache loop, stop ids,
incremental text; then model.py serving it with the stub Triton utilities (no Triton).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.tiny_chat_model import build_tiny_chat_model
from tests.unit import triton_stub
from tests.unit.triton_stub import FINAL, Tensor, TritonModelException
from tests.unit.triton_stub import ResponseSender as Sender

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "triton_models" / "chat_llm" / "1"
ENGINE = FOLDER / "transformers_engine.py"
spec = importlib.util.spec_from_file_location("chat_llm_transformers_under_test", ENGINE)
te = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = te
spec.loader.exec_module(te)

STEP_AUDIO_TEXT = (
    "<s><|BOT|>system\nBe brief.<|EOT|><|BOT|>human\nhi<|EOT|>"
    "<|BOT|>assistant\nhello<|EOT|><|BOT|>human\nand this?<audio_0><audio_5><audio_5119><|EOT|>"
    "<|BOT|>assistant\n"
)
CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": "hello"},
    {"role": "user", "content": "and this?", "audio_tokens": [0, 5, 5119]},
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """The tiny model with a chat template: serves both chat formats."""
    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny") / "chat", chat_template=True)


@pytest.fixture(scope="module")
def step(model_dir):
    return te.TransformersEngine(str(model_dir), chat_format="step_audio")


@pytest.fixture(scope="module")
def templ(model_dir):
    return te.TransformersEngine(str(model_dir))


def variant(model_dir: Path, tmp_path: Path, edit) -> Path:
    """A copy of the tiny model with `edit(copy)` applied."""
    copy = tmp_path / "variant"
    shutil.copytree(model_dir, copy)
    edit(copy)
    return copy


def reply(engine, prompt, max_tokens, temperature=0.0, seed=0, check=lambda: None):
    steps = list(engine.stream(prompt, max_tokens, temperature, seed, check))
    return "".join(t for t, _ in steps), sum(n for _, n in steps)


# -- the module -----------------------------------------------------------------------------------


def test_engine_imports_nothing_from_voxgate() -> None:
    imported = triton_stub.top_level_imports(ENGINE)
    allowed = {"__future__", "threading", "collections", "pathlib", "torch", "transformers"}
    assert imported <= allowed, imported - allowed


def test_model_py_loads_without_torch() -> None:
    """The llama_cpp engine's model.py must import in a Python without torch."""
    code = (
        "import sys; sys.modules['torch'] = sys.modules['transformers'] = None\n"
        "from pathlib import Path\n"
        "from tests.unit import triton_stub\n"
        f"m = triton_stub.load_model(Path({str(FOLDER / 'model.py')!r}), 'm')\n"
        "print(m.settings_from({}).engine)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "llama_cpp", done.stderr


# -- prompts ------------------------------------------------------------------------------------


def test_step_audio_prompt_as_step_audio_chat_renders_it(step) -> None:
    """BOS, <|BOT|>role\\ncontent<|EOT|> per turn (user = human), audio ids 65536 + N after the
    text, an open assistant turn: the text of stepaudio.py's apply_chat_template."""
    ids = step.prompt(CHAT)
    opening = [4, *step.encode("assistant\n")]
    assert ids[:2] == [1, 4] and ids[-len(opening) :] == opening  # BOS, <|BOT|> ... open turn
    audio = ids[-len(opening) - 4 : -len(opening)]
    assert audio == [65536, 65541, 65536 + 5119, 3]  # <audio_N> ids, then <|EOT|>
    assert step.tokenizer.decode(ids) == STEP_AUDIO_TEXT


def test_step_audio_prompt_structure() -> None:
    def enc(text: str) -> list[int]:
        return [100 + ord(c) for c in text]

    ids = te.step_audio_prompt(enc, [{"role": "user", "content": "", "audio_tokens": [7]}], 1, 4, 3)
    assert ids == [1, 4, *enc("human\n"), 65543, 3, 4, *enc("assistant\n")]


def test_template_prompt_is_the_tokenizers_chat_template(templ) -> None:
    chat = [{"role": "user", "content": "Hi ☃"}]
    ids = templ.prompt(chat)
    expected = templ.tokenizer.apply_chat_template(
        chat, add_generation_prompt=True, tokenize=True, return_dict=True
    )
    assert ids == list(expected["input_ids"])
    assert templ.tokenizer.decode(ids) == "<s>user: Hi ☃<|EOT|>assistant: "
    assert ids.count(1) == 1  # BOS once: written by the template, not added again


def test_template_refuses_audio_tokens_and_what_the_template_refuses(templ) -> None:
    with pytest.raises(te.PromptError, match=r"messages\[3\]\.audio_tokens: only chat_format"):
        templ.prompt(CHAT)
    with pytest.raises(te.PromptError, match="the chat template refused them"):
        templ.prompt([{"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}])


def test_load_checks(model_dir, tmp_path) -> None:
    def rename_audio_0(d: Path) -> None:
        data = json.loads((d / "tokenizer.json").read_text())
        data["model"]["vocab"]["<audio_zero>"] = data["model"]["vocab"].pop("<audio_0>")
        (d / "tokenizer.json").write_text(json.dumps(data))

    bad = variant(model_dir, tmp_path, rename_audio_0)
    with pytest.raises(te.EngineError, match="step_audio needs <audio_0> at id 65536"):
        te.TransformersEngine(str(bad), chat_format="step_audio")
    shutil.rmtree(bad)
    bare = variant(model_dir, tmp_path, lambda d: (d / "chat_template.jinja").unlink())
    with pytest.raises(te.EngineError, match="no chat_template"):
        te.TransformersEngine(str(bare))
    te.TransformersEngine(str(bare), chat_format="step_audio")  # Step-Audio needs none
    with pytest.raises(te.EngineError, match=r"no config\.json"):
        te.TransformersEngine(str(tmp_path))
    with pytest.raises(te.EngineError, match="dtype 'floaty'"):
        te.TransformersEngine(str(model_dir), dtype="floaty")
    with pytest.raises(te.EngineError, match="chat_format 'chatml'"):
        te.TransformersEngine(str(model_dir), chat_format="chatml")


def test_end_ids(step) -> None:
    assert step.ends == {3}  # generation_config's EOS, the tokenizer's and <|EOT|> are all 3

    class Config:
        eos_token_id = (7, 9)

    assert te.end_ids(step.tokenizer, Config()) == {3, 7, 9}


# -- sampling -----------------------------------------------------------------------------------


def test_pick() -> None:
    logits = torch.tensor([0.0, 3.0, 2.9, -1.0, 1.0])

    def draws(temperature, top_k, top_p, seed=0, n=200) -> list[int]:
        g = torch.Generator().manual_seed(seed)
        return [te.pick(logits.clone(), temperature, top_k, top_p, g) for _ in range(n)]

    assert te.pick(logits, 0.0, 40, 0.9, None) == 1  # greedy: no generator needed
    assert set(draws(1.0, 1, 1.0)) == {1}  # top-k 1 is greedy
    assert set(draws(1.0, 0, 0.01)) == {1}  # the token that crosses top-p is kept
    assert set(draws(1.0, 2, 1.0)) == {1, 2}
    assert set(draws(5.0, 0, 1.0)) == {0, 1, 2, 3, 4}
    assert draws(1.0, 0, 1.0, seed=4) == draws(1.0, 0, 1.0, seed=4)
    assert draws(1.0, 0, 1.0, seed=4) != draws(1.0, 0, 1.0, seed=5)


def test_greedy_with_the_kv_cache_is_transformers_greedy(step) -> None:
    prompt = step.prompt(CHAT)
    calls = []

    class Recorder:
        def __call__(self, **kw):
            calls.append(kw["input_ids"].shape[1])
            return model(**kw)

    model = step.model
    step.model = Recorder()
    try:
        text, n = reply(step, prompt, 24)
    finally:
        step.model = model
    assert n == 24 and calls == [len(prompt)] + [1] * 23  # one token per pass after the prompt
    with torch.inference_mode():
        ids = model.generate(
            torch.tensor([prompt]), max_new_tokens=24, do_sample=False, attention_mask=None
        )[0, len(prompt) :].tolist()
    assert 3 not in ids and text == step.decode(ids)
    assert reply(step, prompt, 24, seed=9) == (text, n)  # greedy: the seed plays no part


def test_sampling_is_seeded(step) -> None:
    prompt = step.prompt(CHAT)
    a, b = (reply(step, prompt, 30, 0.9, seed=11) for _ in "ab")
    assert a == b
    assert reply(step, prompt, 30, 0.9, seed=12) != a


def test_checks_before_every_forward_pass(step) -> None:
    prompt = step.prompt(CHAT)
    checks = []

    class Stop(Exception):
        pass

    def check() -> None:
        checks.append(1)
        if len(checks) > 3:
            raise Stop

    made = 0
    with pytest.raises(Stop):
        for _, n in step.stream(prompt, 50, 0.0, 0, check):
            made += n
    assert made == 3 and len(checks) == 4
    assert not step.lock.locked()  # released for the next request


def scripted(monkeypatch, tokens: list[int]) -> None:
    """The engine picks `tokens` in order, whatever the logits."""
    it = iter(tokens)
    monkeypatch.setattr(te, "pick", lambda *a: next(it))


def test_stops_at_the_end_id_and_keeps_characters_whole(step, monkeypatch) -> None:
    ids = step.encode("a你🙂")  # byte-level: 1 + 3 + 4 tokens
    scripted(monkeypatch, [*ids, 3, *step.encode("never")])
    steps = list(step.stream([1, 4], 100, 0.7, 0, lambda: None))
    assert steps == [("a", 1), ("", 1), ("", 1), ("你", 1), ("", 1), ("", 1), ("", 1), ("🙂", 1)]
    scripted(monkeypatch, ids[:3])  # cut inside 你: U+FFFD at the end
    assert list(step.stream([1, 4], 3, 0.7, 0, lambda: None)) == [
        ("a", 1), ("", 1), ("", 1), ("\ufffd", 0)
    ]  # fmt: skip


def test_text_stream_keeps_word_spaces() -> None:
    """A SentencePiece-like decoder drops the space of a leading "▁": the window's earlier
    token keeps it; special tokens (decoded to nothing) are skipped."""
    pieces = {1: "▁Hello", 2: "▁world", 3: ",", 9: ""}

    def decode(ids: list[int]) -> str:
        return "".join(pieces[i] for i in ids).replace("▁", " ").removeprefix(" ")

    stream = te.TextStream(decode)
    assert [stream.add(i) for i in (1, 9, 2, 3)] == ["Hello", "", " world", ","]
    assert stream.flush() == ""


# -- model.py with the stub Triton utilities ------------------------------------------------------


PB_UTILS = triton_stub.make_stub(metric=triton_stub.IncrementOnlyMetric)


@pytest.fixture(scope="module")
def chat():
    return triton_stub.load_model(FOLDER / "model.py", "chat_llm_model_hf", PB_UTILS)


def initialize(chat, **params: str):
    cfg = {
        "name": "chat_llm",
        "model_transaction_policy": {"decoupled": True},
        "parameters": {k: {"string_value": v} for k, v in params.items()},
    }
    m = chat.TritonPythonModel()
    m.initialize({"model_config": json.dumps(cfg), "model_repository": "", "model_version": "1"})
    return m


class Request:
    def __init__(self, messages: list[dict], **inputs) -> None:
        import numpy as np

        self.sender = Sender()
        blob = json.dumps(messages).encode()
        self.inputs = {"messages": Tensor("messages", np.array([blob], object))}
        dtypes = {"max_tokens": np.int32, "temperature": np.float32, "seed": np.int64}
        for k, v in inputs.items():
            self.inputs[k] = Tensor(k, np.array([v], dtypes[k]))

    def get_response_sender(self) -> Sender:
        return self.sender

    def request_id(self) -> str:
        return "req-1"


def serve(model, messages, **inputs) -> Sender:
    request = Request(messages, **inputs)
    model._run(request)
    assert request.sender.flags == [FINAL] and model.active == {}
    return request.sender


def test_model_serves_the_engine(chat, model_dir) -> None:
    m = initialize(chat, engine="transformers", model_dir=str(model_dir), chat_format="step_audio")
    try:
        sender = serve(m, CHAT, max_tokens=12, temperature=0.0)
        texts = [r.tensor("text")[0].decode() for r in sender.responses]
        counts = [int(r.tensor("token_count")[0]) for r in sender.responses]
        assert all(texts) and counts[-1] == 12 and counts == sorted(counts)
        assert "".join(texts) == reply(m.engine.impl, m.engine.impl.prompt(CHAT), 12)[0]
    finally:
        m.finalize()
    m = initialize(chat, engine="transformers", model_dir=str(model_dir))
    try:
        (error,) = serve(m, CHAT).responses
        assert error.error().message() == (
            "messages[3].audio_tokens: only chat_format step_audio takes audio tokens"
        )
    finally:
        m.finalize()


def test_audio_tokens_parse(chat) -> None:
    (m,) = chat.parse_messages(json.dumps([{"role": "user", "audio_tokens": [0, 5119]}]))
    assert m == {"role": "user", "content": "", "audio_tokens": [0, 5119]}  # content optional
    (m,) = chat.parse_messages(json.dumps([{"role": "user", "content": "x", "audio_tokens": []}]))
    assert m == {"role": "user", "content": "x"}
    for bad in ([5120], [-1], ["1"], [True], [1.0], 7):
        blob = json.dumps([{"role": "user", "audio_tokens": bad}])
        with pytest.raises(chat.BadRequest, match=r"messages\[0\]\.audio_tokens: expected a list"):
            chat.parse_messages(blob)
    why = "engine llama_cpp takes no audio tokens"  # what LlamaCppEngine.prompt says
    with pytest.raises(chat.BadRequest, match=rf"messages\[3\]\.audio_tokens: {why}"):
        chat.refuse_audio(chat.parse_messages(json.dumps(CHAT)), why)


def test_settings_and_load_errors(chat, monkeypatch) -> None:
    s = chat.settings_from(
        {"engine": "transformers", "model_dir": "/m", "trust_remote_code": "true"}
    )
    assert (s.chat_format, s.device, s.dtype, s.trust_remote_code) == (
        "template", "cpu", "float32", True
    )  # fmt: skip
    for params, message in [
        ({"engine": "transformers"}, "needs parameter model_dir"),
        ({"chat_format": "chatml"}, "chat_format 'chatml' is not one of"),
        ({"trust_remote_code": "yes"}, "trust_remote_code 'yes'"),
        ({"engine": "vllm"}, "engine 'vllm' is not supported"),
    ]:
        with pytest.raises(chat.ConfigError, match=message):
            chat.settings_from(params)
    with pytest.raises(TritonModelException, match="chat_llm: model_dir '/nowhere': no config"):
        initialize(chat, engine="transformers", model_dir="/nowhere")
    monkeypatch.setitem(sys.modules, "torch", None)  # import fails
    monkeypatch.delitem(sys.modules, "voxgate_chat_llm_transformers", raising=False)
    with pytest.raises(TritonModelException, match=r"needs torch and transformers.*voxgate\[hf\]"):
        initialize(chat, engine="transformers", model_dir="/m")


def test_instance_device(chat) -> None:
    gpu = {"model_instance_kind": "GPU", "model_instance_device_id": "1"}
    assert chat.instance_device("cuda", gpu) == "cuda:1"  # a KIND_GPU instance's own GPU
    assert chat.instance_device("cuda:0", gpu) == "cuda:0"  # named: as named
    assert chat.instance_device("cuda", {"model_instance_kind": "CPU"}) == "cuda"
    assert chat.instance_device("cpu", gpu) == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_engine_on_cuda(model_dir) -> None:
    gpu = te.TransformersEngine(str(model_dir), chat_format="step_audio", device="cuda")
    prompt = gpu.prompt(CHAT)
    assert reply(gpu, prompt, 20) == reply(gpu, prompt, 20, seed=3)
    assert reply(gpu, prompt, 20, 0.9, seed=4) == reply(gpu, prompt, 20, 0.9, seed=4)
    assert reply(gpu, prompt, 20, 0.9, seed=4)[1] == 20
    gpu.close()
