"""The step-audio profile: Step-Audio's own tokenizer and decoder artifacts as a Triton repository.

`voxgate models convert step-audio` (convert.py) checks the source files (sources.py), builds the
feature graphs (features.py), composes them with Step-Audio's models into one ONNX file per
Triton model (graphs.py) and writes the repository with CPU and GPU configs (repository.py).
docs/step-audio.md says what a user runs and which files are expected.
"""
