"""A tiny causal LM with Step-Audio-TTS-3B's interfaces, built by the tests (random weights).

Same as the real model where the engine looks: a Hugging Face directory (config.json,
safetensors, tokenizer.json, generation_config.json); special ids <s> = 1, <|EOT|> = 3 (the end
of sequence), <|BOT|> = 4; `<audio_N>` at id 65536 + N for the 5,120 audio codes; text as
byte-level tokens. 2 layers of width 32: loads in well under a second.
"""

from __future__ import annotations

import json
from pathlib import Path

AUDIO_ID_BASE = 65536
AUDIO_CODES = 5120
SPECIALS = ["<unk>", "<s>", "</s>", "<|EOT|>", "<|BOT|>"]


def build_tiny_step_audio(path: Path, seed: int = 0) -> Path:
    """Writes the model directory at `path` and returns it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import (
        GenerationConfig,
        LlamaConfig,
        LlamaForCausalLM,
        PreTrainedTokenizerFast,
    )

    path.mkdir(parents=True, exist_ok=True)
    vocab: dict[str, int] = {t: i for i, t in enumerate(SPECIALS)}
    for symbol in pre_tokenizers.ByteLevel.alphabet():
        vocab[symbol] = len(vocab)
    while len(vocab) < AUDIO_ID_BASE:
        vocab[f"<unused_{len(vocab)}>"] = len(vocab)
    for n in range(AUDIO_CODES):
        vocab[f"<audio_{n}>"] = AUDIO_ID_BASE + n
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="<|EOT|>", unk_token="<unk>"
    )
    fast.save_pretrained(path)

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=1,
        eos_token_id=3,
        tie_word_embeddings=True,
        # Large random weights: logits that depend strongly on the context, so a prompt or a
        # prefix visibly changes what is sampled (at the default 0.02 they are nearly flat).
        initializer_range=0.5,
    )
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=1, eos_token_id=3, do_sample=True, temperature=0.7, top_k=0, top_p=1.0
    )
    model.save_pretrained(path, safe_serialization=True)
    return path


def write_speakers(path: Path, speakers: dict[str, tuple[str, list[int]]]) -> None:
    """speakers.json: built-in prompt speakers of the step-audio engine."""
    data = {name: {"transcript": t, "tokens": list(ids)} for name, (t, ids) in speakers.items()}
    (path / "speakers.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
