"""The `transformers` engine of chat_llm: any Hugging Face causal-LM directory, a reply streamed
token by token with a KV cache (one token per forward pass after the prompt).

Prompt formats (`chat_format`):
- `template`: the tokenizer's own chat template (`apply_chat_template`, with the generation
  prompt);
- `step_audio`: Step-Audio-Chat's, as its `stepaudio.py` renders it: BOS, then
  `<|BOT|>{role}\\n{content}<|EOT|>` per message (`user` is Step-Audio's `human`), then an open
  `<|BOT|>assistant\\n`. A message's `audio_tokens` (Step-Audio interleaved ids N, 0..5119) go
  after its text as LLM ids 65536 + N (`<audio_N>`), as Step-Audio-Chat takes speech in.

Sampling: greedy at temperature 0; otherwise temperature, top-k, top-p and a draw from a
torch.Generator seeded per request. The reply ends at an end-of-sequence id (the model's
generation_config, the tokenizer's EOS, `<|EOT|>`), not sent. Text is decoded over a short
window of ids, so a character split across tokens comes out whole.

Needs torch and transformers: model.py loads this file (by path) only for this engine, so the
llama_cpp engine never imports them. Nothing from voxgate; nothing downloaded (local files
only).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

AUDIO_ID_BASE = 65536  # LLM id of <audio_0> in Step-Audio's vocabulary
AUDIO_CODES = 5120  # 1024 linguistic + 4096 semantic
CHAT_FORMATS = ("template", "step_audio")
STEP_AUDIO_ROLES = {"user": "human"}  # Step-Audio's name for the user's turns
BOT, EOT = "<|BOT|>", "<|EOT|>"
REPLACEMENT = "\ufffd"  # what a decoder makes of an incomplete UTF-8 character


class EngineError(Exception):
    """The model directory or the parameters cannot be served; the message says why."""


class PromptError(Exception):
    """The chat cannot be rendered for this model (a bad request); the message says why."""


# -- pure helpers (unit-tested) --------------------------------------------------------------------


def step_audio_prompt(
    encode: Callable[[str], list[int]],
    messages: Sequence[dict],
    bos: int,
    bot: int,
    eot: int,
) -> list[int]:
    """Step-Audio-Chat's prompt as ids. `encode` turns text into ids without special tokens;
    each turn's `role\\ncontent` is encoded whole, as Step-Audio encodes the text between its
    markers."""
    ids = [bos]
    for m in messages:
        role = STEP_AUDIO_ROLES.get(m["role"], m["role"])
        audio = [AUDIO_ID_BASE + int(n) for n in m.get("audio_tokens", ())]
        ids += [bot, *encode(f"{role}\n{m['content']}"), *audio, eot]
    return [*ids, bot, *encode("assistant\n")]


def refuse_audio(messages: Sequence[dict], why: str) -> None:
    """PromptError naming the first message with audio tokens, if any."""
    for i, m in enumerate(messages):
        if m.get("audio_tokens"):
            raise PromptError(f"messages[{i}].audio_tokens: {why}")


def pick(logits, temperature: float, top_k: int, top_p: float, generator) -> int:
    """The next token from one row of logits: argmax at temperature 0; else temperature,
    top-k (0 = off), top-p (1 = off; the token that crosses it is kept), a seeded draw.
    Only the top-k candidates are sorted: a full sort of a large vocabulary per token is slow
    on a CPU."""
    if temperature <= 0:
        return int(torch.argmax(logits))
    logits = logits.float() / temperature
    if 0 < top_k < logits.numel():
        logits, ids = torch.topk(logits, top_k)  # sorted, highest first
    elif top_p < 1.0:
        logits, ids = torch.sort(logits, descending=True)
    else:
        ids = None
    if top_p < 1.0:
        p = torch.softmax(logits, -1)
        logits = logits[p.cumsum(-1) - p <= top_p]  # a prefix: the list is sorted
    choice = int(torch.multinomial(torch.softmax(logits, -1), 1, generator=generator))
    return choice if ids is None else int(ids[choice])


class TextStream:
    """Generated ids -> text pieces. Each new piece is the text of a window (the last emitted
    token onward) minus the window's old text: the earlier token gives SentencePiece its word
    boundary, and a window ending in an incomplete character waits for more ids."""

    def __init__(self, decode: Callable[[list[int]], str]) -> None:
        self._decode = decode
        self._ids: list[int] = []
        self._start = 0  # the window's first id
        self._sent = 0  # ids whose text has been returned

    def add(self, token: int) -> str:
        self._ids.append(token)
        old, new = self._texts()
        if new.endswith(REPLACEMENT) or len(new) <= len(old):
            return ""  # part of a character, or a token with no text (yet)
        self._start, self._sent = self._sent, len(self._ids)
        return new[len(old) :]

    def flush(self) -> str:
        """What is held back at the end; an incomplete character becomes U+FFFD."""
        old, new = self._texts()
        self._start = self._sent = len(self._ids)
        return new[len(old) :]

    def _texts(self) -> tuple[str, str]:
        window = self._ids[self._start :]
        return self._decode(window[: self._sent - self._start]), self._decode(window)


def token_id(tokenizer, token: str) -> int | None:
    """The id of `token` in the vocabulary, None if it has none."""
    i = tokenizer.convert_tokens_to_ids(token)
    if i is None or (i == tokenizer.unk_token_id and token != tokenizer.unk_token):
        return None
    return int(i)


def end_ids(tokenizer, generation_config) -> frozenset[int]:
    """Ids that end a reply: the generation config's EOS (an id or a list), the tokenizer's,
    and Step-Audio's <|EOT|> where the vocabulary has it."""
    found = generation_config.eos_token_id
    ids = set([found] if isinstance(found, int) else (found or []))
    ids |= {i for i in (tokenizer.eos_token_id, token_id(tokenizer, EOT)) if i is not None}
    return frozenset(ids)


# -- the engine --------------------------------------------------------------------------------


class TransformersEngine:
    """One causal LM (one reply at a time) with its tokenizer and prompt format."""

    def __init__(
        self,
        model_dir: str,
        *,
        chat_format: str = "template",
        device: str = "cpu",
        dtype: str = "float32",
        trust_remote_code: bool = False,
        threads: int = 1,
        n_ctx: int = 2048,
        top_k: int = 40,
        top_p: float = 0.9,
    ) -> None:
        path = Path(model_dir)
        if not (path / "config.json").is_file():
            raise EngineError(f"model_dir {model_dir!r}: no config.json (a Hugging Face model)")
        if chat_format not in CHAT_FORMATS:
            raise EngineError(
                f"chat_format {chat_format!r} is not one of {', '.join(CHAT_FORMATS)}"
            )
        torch_dtype = getattr(torch, dtype, None)
        if not isinstance(torch_dtype, torch.dtype):
            raise EngineError(f"dtype {dtype!r} is not a torch dtype (e.g. float32, bfloat16)")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise EngineError(f"device {device!r}: torch sees no CUDA GPU")
        if device == "cpu":
            torch.set_num_threads(threads)
        self.device = device
        self.model_path = path
        self.chat_format = chat_format
        self.top_k, self.top_p = top_k, top_p
        transformers.logging.disable_progress_bar()  # no bars in Triton's log
        self.tokenizer = AutoTokenizer.from_pretrained(
            path, trust_remote_code=trust_remote_code, local_files_only=True
        )
        self.model = AutoModelForCausalLM.from_pretrained(
            path, dtype=torch_dtype, trust_remote_code=trust_remote_code, local_files_only=True
        ).to(device)
        self.model.eval()
        positions = getattr(self.model.config, "max_position_embeddings", None) or n_ctx
        self.n_ctx = min(n_ctx, positions)
        self.ends = end_ids(self.tokenizer, self.model.generation_config)
        if chat_format == "step_audio":
            self._markers = self._check_step_audio()
        elif not self.tokenizer.chat_template:
            raise EngineError(
                f"model_dir {model_dir!r}: the tokenizer has no chat_template "
                "(set chat_format to step_audio for Step-Audio-Chat)"
            )
        self.lock = threading.Lock()

    def _check_step_audio(self) -> tuple[int, int, int]:
        """BOS, <|BOT|> and <|EOT|> ids; refuses a vocabulary without <audio_0> at 65536."""
        tok, where = self.tokenizer, f"model_dir {str(self.model_path)!r}"
        vocab = self.model.get_output_embeddings().weight.shape[0]
        first = tok.convert_ids_to_tokens(AUDIO_ID_BASE) if vocab > AUDIO_ID_BASE else None
        if vocab < AUDIO_ID_BASE + AUDIO_CODES or first != "<audio_0>":
            raise EngineError(
                f"{where}: chat_format step_audio needs <audio_0> at id {AUDIO_ID_BASE} and "
                f"{AUDIO_CODES} audio ids (vocabulary of {vocab}, id {AUDIO_ID_BASE} is {first!r})"
            )
        bos, bot, eot = tok.bos_token_id, token_id(tok, BOT), token_id(tok, EOT)
        if None in (bos, bot, eot):
            raise EngineError(
                f"{where}: chat_format step_audio needs a BOS token, {BOT} and {EOT} in the "
                "vocabulary"
            )
        return bos, bot, eot

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def prompt(self, messages: Sequence[dict]) -> list[int]:
        """The chat as prompt ids, in this engine's chat format."""
        if self.chat_format == "step_audio":
            return step_audio_prompt(self.encode, messages, *self._markers)
        refuse_audio(messages, "only chat_format step_audio takes audio tokens")
        chat = [{"role": m["role"], "content": m["content"]} for m in messages]
        try:
            text = self.tokenizer.apply_chat_template(
                chat, add_generation_prompt=True, tokenize=False
            )
        except Exception as err:  # the template's raise_exception(), e.g. an unsupported order
            raise PromptError(f"messages: the chat template refused them ({err})") from None
        # The template writes BOS itself where the model wants one.
        return self.encode(text)

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(
            ids, skip_special_tokens=True, clean_up_tokenization_spaces=False
        )

    def stream(
        self,
        prompt: list[int],
        max_tokens: int,
        temperature: float,
        seed: int,
        check: Callable[[], None],
    ) -> Iterator[tuple[str, int]]:
        """(text, new tokens) per generated token (text "" while a character is incomplete),
        then the held-back text; `check()` runs before every forward pass and may raise."""
        with self.lock, torch.inference_mode():
            generator = torch.Generator(device=self.device).manual_seed(int(seed))
            step = torch.tensor([prompt], dtype=torch.long, device=self.device)
            past, text, made = None, TextStream(self.decode), 0
            while made < max_tokens:
                check()
                out = self.model(input_ids=step, past_key_values=past, use_cache=True)
                past = out.past_key_values
                token = pick(out.logits[0, -1], temperature, self.top_k, self.top_p, generator)
                if token in self.ends:
                    break
                made += 1
                yield text.add(token), 1
                step = torch.tensor([[token]], dtype=torch.long, device=self.device)
            tail = text.flush()
            if tail:
                yield tail, 0

    def close(self) -> None:
        self.model = None
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()
