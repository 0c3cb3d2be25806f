"""Reference speech tokenizer and vocoder that voxgate builds itself.

Modules: ``corpus`` (espeak-ng/flite/sox training speech, template sentences, held-out split
and voices for the benchmark), ``dsp`` (constants, fixed matrices), ``encoder`` / ``decoder``
(numpy references), ``refiner`` (the token decoder's learned stage: features from a window
of tokens, trained at build time with torch), ``speaker`` (a recording's mean envelope and
pitch in the decoder's feature space; the speaker adapter's numpy reference), ``fit``
(codebook, the refiner's training data), ``onnx_export`` (the fitted graphs: tokenizers,
joint tokenizer, stream-tokenizer stages, token decoder, vocoder; and the parameter-free
speaker adapter), ``build``
(``python -m voxgate.reference.build``) and ``codec`` (onnxruntime convenience API, chunked
tokenize/decode helpers). The token format (rates, code counts, interleaving) comes from
``voxgate.interleave``, the model names from ``voxgate.model_names``, and the window planning
from ``voxgate.core.chunking``: one copy of each, shared with the façade.

Token layout: semantic (40 ms, 4096 codes) = VQ of two 20 ms sub-frames' envelope shape
(cepstrum c1..c23, minus a bounded, energy-weighted local mean), gains (c0) and aperiodicity;
linguistic (60 ms, 1024 codes) = F0 level (31 log-spaced levels 60-450 Hz, or unvoiced) * 32 +
gain correction (residual of the semantic codes' gain, 0.2-nat steps).
"""
