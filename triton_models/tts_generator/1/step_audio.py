"""The `step-audio` engine of tts_generator: a Hugging Face causal LM laid out like
Step-Audio-TTS-3B generates Step-Audio audio tokens for a clause, streamed group by group.

What it keeps from Step-Audio (its `tts.py`): the prompt template (BOS, then turns
`<|BOT|>role\\n...<|EOT|>` with ids 4 and 3: the system prompt, the prompt speaker's transcript
as a human turn, the prompt's audio tokens as an assistant turn, the target text as a human turn,
then an open assistant turn), audio token N as LLM id 65536 + N, sampling at temperature 0.7
with the repetition-aware rule (the last token is banned when it fills more than 10% of the last
10), and the model's own generation_config for top-k / top-p and end of sequence.

What it adds: generation is constrained to whole groups `[l, l, s, s, s]` (l < 1024,
1024 <= s < 5120) and may end only at a group boundary, so every token sent decodes; the
generator is seeded per request (same seed, same tokens); the caller's `check()` runs before
every step, so a cancel stops it within one forward pass.

Needs torch and transformers; imported when the engine is built, so the reference engine never
loads them. Nothing from voxgate (this file runs inside Triton's Python backend).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

AUDIO_ID_BASE = 65536  # LLM id of <audio_0>
LINGUISTIC_CODES = 1024
AUDIO_CODES = 5120  # 1024 linguistic + 4096 semantic
LINGUISTIC_PER_GROUP = 2
TOKENS_PER_GROUP = 5
BOS, EOT, BOT = 1, 3, 4  # Step-Audio's <s>, <|EOT|>, <|BOT|>
REPETITION_WINDOW = 10
REPETITION_THRESHOLD = 0.1
SECONDS_PER_GROUP = 0.12

# The system prompts. Step-Audio-TTS-3B was trained with its own (Chinese) system prompts, in its
# tts.py as sys_prompt_wo_spk / sys_prompt_with_spk: for that model, put them in `prompts.json`
# next to the weights ({"without_speaker": ..., "with_speaker": ... "{speaker}" ...}).
DEFAULT_PROMPTS = {
    "without_speaker": (
        "You are a voice actor. Read the text aloud naturally, following any emotion, "
        "language, dialect or speed tags in brackets at its start."
    ),
    "with_speaker": (
        "You are a voice actor. Read the text aloud in the voice of [{speaker}], following any "
        "emotion, language, dialect or speed tags in brackets at its start."
    ),
}


class EngineError(Exception):
    """The model directory cannot be served (missing files, not Step-Audio-like)."""


@dataclass(frozen=True)
class Speaker:
    """A prompt speaker: what the prompt says and its audio tokens (0..5119, interleaved)."""

    transcript: str
    tokens: tuple[int, ...]


def prompt_ids(
    encode: Callable[[str], list[int]],
    text: str,
    speaker: Speaker | None,
    speaker_name: str,
    prompts: dict[str, str],
) -> list[int]:
    """Step-Audio's TTS prompt for `text`, as LLM ids.

    `encode` is the tokenizer's `encode` (called exactly as Step-Audio calls it). With a
    `speaker_name` the system prompt names it (a built-in speaker); a cloned prompt has no name.
    Without a speaker there are no prompt turns.
    """
    if speaker_name:
        system = prompts["with_speaker"].replace("{speaker}", speaker_name)
    else:
        system = prompts["without_speaker"]
    prefix = len(encode("\n"))  # strips what encode() puts before a leading newline

    def body(s: str) -> list[int]:
        return encode("\n" + s)[prefix:]

    human, assistant = encode("human\n"), encode("assistant\n")
    ids = [BOS, BOT, *encode(f"system\n{system}"), EOT]
    if speaker is not None:
        ids += [BOT, *human, *body(speaker.transcript), EOT]
        ids += [BOT, *assistant, *(AUDIO_ID_BASE + t for t in speaker.tokens), EOT]
    ids += [BOT, *human, *body(text), EOT, BOT, *assistant]
    return ids


def max_groups(text: str, seconds_per_char: float, floor_groups: int = 8) -> int:
    """A clause's generation budget: `seconds_per_char` of speech per character, at least
    `floor_groups`; a model that never ends stops there."""
    return max(floor_groups, math.ceil(len(text) * seconds_per_char / SECONDS_PER_GROUP))


def load_speakers(model_dir: Path) -> dict[str, Speaker]:
    """`speakers.json` next to the weights: {name: {"transcript": ..., "tokens": [...]}}."""
    path = model_dir / "speakers.json"
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {
        name: Speaker(str(s["transcript"]), tuple(int(t) for t in s["tokens"]))
        for name, s in raw.items()
    }


class StepAudioEngine:
    """One causal LM (weights loaded once, shared by the requests' threads)."""

    def __init__(
        self,
        model_dir: str,
        *,
        threads: int = 1,
        device: str = "cpu",
        dtype: str = "float32",
        trust_remote_code: bool = False,
        temperature: float = 0.7,
        seconds_per_char: float = 0.2,
        stream_groups: int = 2,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(model_dir)
        if not (path / "config.json").is_file():
            raise EngineError(f"model_dir {model_dir!r}: no config.json (a Hugging Face model)")
        if device == "cpu":
            torch.set_num_threads(threads)
        self.torch = torch
        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        self.model = AutoModelForCausalLM.from_pretrained(
            path, dtype=getattr(torch, dtype), trust_remote_code=trust_remote_code
        ).to(device)
        self.model.eval()
        vocab = self.model.get_output_embeddings().weight.shape[0]
        if vocab < AUDIO_ID_BASE + AUDIO_CODES:
            raise EngineError(
                f"model_dir {model_dir!r}: vocabulary of {vocab} ids has no room for the "
                f"{AUDIO_CODES} audio tokens at {AUDIO_ID_BASE}+N"
            )
        first = self.tokenizer.convert_ids_to_tokens(AUDIO_ID_BASE)
        if first != "<audio_0>":
            raise EngineError(
                f"model_dir {model_dir!r}: id {AUDIO_ID_BASE} is {first!r}, not '<audio_0>'"
            )
        config = self.model.generation_config
        eos = config.eos_token_id if config.eos_token_id is not None else EOT
        self.eos = [eos] if isinstance(eos, int) else list(eos)
        self.top_k = int(config.top_k or 0) if config.do_sample else 0
        self.top_p = float(config.top_p or 1.0) if config.do_sample else 1.0
        self.temperature = temperature
        self.seconds_per_char = seconds_per_char
        self.stream_groups = max(1, stream_groups)
        self.speakers = load_speakers(path)
        prompts_path = path / "prompts.json"
        self.prompts = dict(DEFAULT_PROMPTS)
        if prompts_path.is_file():
            self.prompts.update(json.loads(prompts_path.read_text(encoding="utf-8")))
        masks = torch.full((2, vocab), float("-inf"))
        masks[0, AUDIO_ID_BASE : AUDIO_ID_BASE + LINGUISTIC_CODES] = 0.0
        masks[1, AUDIO_ID_BASE + LINGUISTIC_CODES : AUDIO_ID_BASE + AUDIO_CODES] = 0.0
        self._group_start = masks[0].clone()  # a group's first token, or the end
        self._group_start[self.eos] = 0.0
        self._masks = masks.to(device)
        self._group_start = self._group_start.to(device)

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text))

    def generate(
        self,
        text: str,
        *,
        speaker: Speaker | None,
        speaker_name: str,
        seed: int,
        check: Callable[[], None],
        temperature: float | None = None,
    ) -> Iterator[np.ndarray]:
        """Audio ids (0..5119, interleaved) of `text`, `stream_groups` whole groups at a time."""
        torch = self.torch
        ids = prompt_ids(self.encode, text, speaker, speaker_name, self.prompts)
        temp = self.temperature if temperature is None else temperature
        generator = torch.Generator(device=self.device).manual_seed(int(seed))
        budget = max_groups(text, self.seconds_per_char) * TOKENS_PER_GROUP
        history = torch.tensor([ids], dtype=torch.long, device=self.device)
        step_input, past, out = history, None, []
        with torch.inference_mode():
            for position in range(budget + 1):
                check()
                result = self.model(input_ids=step_input, past_key_values=past, use_cache=True)
                past = result.past_key_values
                logits = result.logits[0, -1].float()
                logits = self._constrain(logits, history[0], position)
                token = self._sample(logits, temp, generator)
                if token in self.eos or position == budget:
                    break
                out.append(token - AUDIO_ID_BASE)
                step_input = torch.tensor([[token]], dtype=torch.long, device=self.device)
                history = torch.cat([history, step_input], dim=1)
                if len(out) == self.stream_groups * TOKENS_PER_GROUP:
                    yield np.array(out, np.int64)
                    out = []
        whole = len(out) // TOKENS_PER_GROUP * TOKENS_PER_GROUP
        if whole:
            yield np.array(out[:whole], np.int64)

    def _constrain(self, logits, history, position: int):
        """Step-Audio's repetition-aware rule, then the group grammar."""
        window = history[-REPETITION_WINDOW:]
        if len(window) == REPETITION_WINDOW:
            last = int(window[-1])
            if int((window == last).sum()) / REPETITION_WINDOW > REPETITION_THRESHOLD:
                logits[last] = float("-inf")
        k = position % TOKENS_PER_GROUP
        if k == 0:
            return logits + self._group_start
        return logits + self._masks[0 if k < LINGUISTIC_PER_GROUP else 1]

    def _sample(self, logits, temperature: float, generator) -> int:
        torch = self.torch
        if temperature <= 0:
            return int(torch.argmax(logits))
        logits = logits / temperature
        if self.top_k > 0:
            kth = torch.topk(logits, min(self.top_k, logits.numel())).values[-1]
            logits = torch.where(logits < kth, float("-inf"), logits)
        if self.top_p < 1.0:
            ordered, order = torch.sort(logits, descending=True)
            p = torch.softmax(ordered, -1)
            drop = p.cumsum(-1) - p > self.top_p  # keep the token that crosses top_p
            logits[order[drop]] = float("-inf")
        probs = torch.softmax(logits, -1)
        return int(torch.multinomial(probs, 1, generator=generator))
