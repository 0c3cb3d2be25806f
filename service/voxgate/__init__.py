"""voxgate: serve Step-Audio-style speech tokenizers, vocoders, TTS and chat over gRPC."""

__version__ = "0.1.0"
