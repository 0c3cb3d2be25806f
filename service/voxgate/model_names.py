"""Names of the models in voxgate's Triton repository: the one list everything else imports.

`name` == folder in `triton_models/`. Leaf models hold an ONNX file; ensembles wire them.
"""

from __future__ import annotations

LINGUISTIC_TOKENIZER = "linguistic_tokenizer"
SEMANTIC_TOKENIZER = "semantic_tokenizer"
TOKEN_DECODER = "token_decoder"
VOCODER = "vocoder"
TOKENIZE = "tokenize"  # ensemble: waveform -> both token streams
DETOKENIZE = "detokenize"  # ensemble: interleaved ids -> waveform

# The four ONNX graphs the reference build exports (and the step-audio profile replaces).
ONNX_MODELS = (LINGUISTIC_TOKENIZER, SEMANTIC_TOKENIZER, TOKEN_DECODER, VOCODER)
ENSEMBLES = (TOKENIZE, DETOKENIZE)

# Decoupled generators of the services still to come (absent from the reference repository:
# their services answer UNIMPLEMENTED and report NOT_SERVING until a deployment has them).
TTS_GENERATOR = "tts_generator"
CHAT_LLM = "chat_llm"

# What each model does, as GetServerInfo reports it ("" for models voxgate does not know).
ROLES = {
    LINGUISTIC_TOKENIZER: "tokenizer",
    SEMANTIC_TOKENIZER: "tokenizer",
    TOKEN_DECODER: "decoder",
    VOCODER: "vocoder",
    TOKENIZE: "ensemble",
    DETOKENIZE: "ensemble",
    TTS_GENERATOR: "llm",
    CHAT_LLM: "llm",
}
