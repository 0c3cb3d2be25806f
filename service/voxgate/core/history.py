"""A conversation's history within a token budget, and what the user heard of a reply."""

from __future__ import annotations

import json
from dataclasses import dataclass

from voxgate.errors import OutOfRange


def estimate_tokens(text: str) -> int:
    """A conservative token count without the model's tokenizer: BPE vocabularies of chat
    models average 3.5-4.5 bytes of English per token, so bytes / 3 over-counts, and the
    per-message 4 covers the chat template's role markers."""
    return len(text.encode()) // 3 + 4


@dataclass
class Message:
    role: str  # "user" or "assistant"
    content: str


class History:
    """The turns of one conversation; the prompt keeps the system prompt, the current user
    message and as many of the latest turns as fit in `budget_tokens`, dropping the oldest."""

    def __init__(self, system_prompt: str, budget_tokens: int) -> None:
        self.system_prompt = system_prompt
        self.budget_tokens = budget_tokens
        self.messages: list[Message] = []

    def prompt(self, user: str, audio_tokens: list[int] | None = None) -> str:
        """The `messages` JSON for a reply to `user` (not yet added to the history); with
        `audio_tokens`, the message carries the user's speech as Step-Audio ids (one LLM
        token each) for a model that hears them, while the history keeps the text."""
        fixed = (
            estimate_tokens(user)
            + len(audio_tokens or ())
            + (estimate_tokens(self.system_prompt) if self.system_prompt else 0)
        )
        if fixed > self.budget_tokens:
            raise OutOfRange(
                f"input: the turn is about {fixed} tokens with the system prompt, more than "
                f"the {self.budget_tokens}-token history budget"
            )
        kept: list[Message] = []
        room = self.budget_tokens - fixed
        # Whole exchanges only, newest first: a reply without its question misleads the model.
        for i in range(len(self.messages) - 1, -1, -1):
            cost = estimate_tokens(self.messages[i].content)
            if cost > room:
                break
            room -= cost
            kept.insert(0, self.messages[i])
        while kept and kept[0].role != "user":
            kept.pop(0)
        chat = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        chat += [{"role": m.role, "content": m.content} for m in kept]
        message: dict = {"role": "user", "content": user}
        if audio_tokens:
            message["audio_tokens"] = audio_tokens
        chat.append(message)
        return json.dumps(chat, ensure_ascii=False)

    def add(self, user: str, assistant: str) -> None:
        """One finished (or interrupted) exchange; an empty reply keeps the question alone."""
        self.messages.append(Message("user", user))
        if assistant.strip():
            self.messages.append(Message("assistant", assistant))
        else:  # keep user/assistant alternation for chat templates that require it
            self.messages.append(Message("assistant", "…"))


def heard_text(
    spoken_text: str,
    words: list[tuple[str, int, int]],
    heard_ms: int,
    generated_ms: int,
) -> str:
    """The part of a reply's spoken text the user heard, in the reply's own words.

    `words` are the speech generator's timed words (normalized: "12" may be "twelve"), so the
    count of words heard by `heard_ms` is mapped onto the reply text's words; without timings,
    the share of the audio heard is mapped onto the characters spoken.
    """
    if heard_ms <= 0:
        return ""
    if words:
        n = sum(1 for _, _, end in words if end <= heard_ms)
        return " ".join(spoken_text.split()[:n])
    if generated_ms <= 0:
        return ""
    share = min(1.0, heard_ms / generated_ms)
    cut = int(len(spoken_text) * share)
    text = spoken_text[:cut]
    if cut < len(spoken_text) and not spoken_text[cut].isspace() and " " in text:
        text = text.rsplit(" ", 1)[0]  # no half words
    return text.strip()
