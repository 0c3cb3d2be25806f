"""Reference speech tokenizer and vocoder that voxgate builds itself."""
