"""Tiny chat LMs for chat_llm's transformers engine, built by the tests (random weights).

The model is tests/tiny_step_audio.py's (a 2-layer Llama of width 32, byte-level tokenizer built
offline, <s> 1, <|EOT|> 3 as the end of sequence, <|BOT|> 4, `<audio_N>` at 65536 + N): laid out
like Step-Audio-Chat for chat_format step_audio. `chat_template=True` adds a Jinja chat template
to its tokenizer, for chat_format template (any Hugging Face chat model).
"""

from __future__ import annotations

from pathlib import Path

from tests.tiny_step_audio import build_tiny_step_audio

# Plain-text turns (the tiny vocabulary has no turn markers of its own), BOS from the template
# as real chat templates write it, the tokenizer's EOS (<|EOT|>) closing each turn.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "{% if m['role'] == 'assistant' and loop.first %}"
    "{{ raise_exception('the chat must not start with the assistant') }}{% endif %}"
    "{{ m['role'] }}: {{ m['content'] }}{{ eos_token }}{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


def build_tiny_chat_model(path: Path, *, chat_template: bool = False, seed: int = 0) -> Path:
    """Writes the model directory at `path` and returns it."""
    from transformers import AutoTokenizer

    build_tiny_step_audio(path, seed)
    if chat_template:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        tokenizer.chat_template = CHAT_TEMPLATE
        tokenizer.save_pretrained(path)
    return path
