"""Names of the models in voxgate's Triton repository: the one list everything else imports.

`name` == folder in `triton_models/`. Leaf models hold an ONNX file; ensembles wire them.
"""

from __future__ import annotations

LINGUISTIC_TOKENIZER = "linguistic_tokenizer"
SEMANTIC_TOKENIZER = "semantic_tokenizer"
# The reference profile's tokenize step: both streams from one shared analysis (the two models
# above compute that analysis twice; they stay as the per-stream models of the contract).
JOINT_TOKENIZER = "joint_tokenizer"
# StreamTokenize's stateful path (reference profile): per-stream analysis in Triton, under the
# sequence batcher; without it (step-audio) live streams go to tokenize in context windows.
STREAM_TOKENIZER = "stream_tokenizer"
TOKEN_DECODER = "token_decoder"
VOCODER = "vocoder"
TOKENIZE = "tokenize"  # ensemble: waveform -> both token streams
DETOKENIZE = "detokenize"  # ensemble: interleaved ids -> waveform
SPEAKER_ADAPTER = "speaker_adapter"  # acoustic features + speaker shift -> shifted features
DETOKENIZE_VOICE = "detokenize_voice"  # ensemble: interleaved ids + speaker shift -> waveform

# The fitted ONNX graphs the reference build exports (the step-audio profile replaces the two
# tokenizers, the decoder and the vocoder, and wires its tokenize ensemble to its tokenizers).
ONNX_MODELS = (LINGUISTIC_TOKENIZER, SEMANTIC_TOKENIZER, JOINT_TOKENIZER, TOKEN_DECODER, VOCODER)

ENSEMBLES = (TOKENIZE, DETOKENIZE)
# Speaker conditioning of the reference decoder (voice cloning): a parameter-free ONNX graph on
# the reference decoder's acoustic features, and the ensemble that puts it before the vocoder.
SPEAKER_MODELS = (SPEAKER_ADAPTER, DETOKENIZE_VOICE)

# Decoupled generators (Python-backend models in the repository).
TTS_GENERATOR = "tts_generator"
CHAT_LLM = "chat_llm"  # engine llama_cpp (scripts/llama-cpp-wheel.sh installs it)
# ChatService's speech input (stateful models under Triton's sequence batcher).
VAD = "vad"  # voice activity detection: where the user's turns start and end
ASR = "asr"  # speech recognition: the user's turn as text for the chat LLM

# What loading a model brings along besides its ensemble steps (which voxgate.model_repository
# reads from the configs): a Python model's BLS calls, and companions used where the
# repository has them.
ALSO_LOADS: dict[str, tuple[str, ...]] = {
    TTS_GENERATOR: (TOKENIZE,),  # the reference engine tokenizes Piper's audio through BLS
    TOKENIZE: (STREAM_TOKENIZER,),  # live StreamTokenize, where the profile has it
}


# What each model does, as GetServerInfo reports it ("" for models voxgate does not know).
ROLES = {
    LINGUISTIC_TOKENIZER: "tokenizer",
    SEMANTIC_TOKENIZER: "tokenizer",
    JOINT_TOKENIZER: "tokenizer",
    STREAM_TOKENIZER: "tokenizer",
    TOKEN_DECODER: "decoder",
    VOCODER: "vocoder",
    TOKENIZE: "ensemble",
    DETOKENIZE: "ensemble",
    SPEAKER_ADAPTER: "decoder",  # a stage of the decoder (the proto lists the roles)
    DETOKENIZE_VOICE: "ensemble",
    TTS_GENERATOR: "llm",
    CHAT_LLM: "llm",
    VAD: "vad",
    ASR: "asr",
}
