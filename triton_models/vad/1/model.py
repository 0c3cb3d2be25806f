"""vad: 16 kHz audio -> speech probabilities per 32 ms frame (Silero VAD v6, stateful).

Silero VAD v6 (`silero_vad.onnx`, found inside the installed `silero-vad` package without
importing it: the package imports torch, which voxgate does not need) runs on onnxruntime,
one 512-sample frame per call with Silero's 64-sample context and its recurrent state
`[2, 1, 128]`. Nothing is downloaded at run time.

Per-conversation state lives in this model and is addressed by Triton's sequence batcher
(strategy `direct`): a sequence keeps one slot of one instance for its lifetime, and the
requests of a batch come in slot order (a slot with nothing to run is a "null" request with
READY false). State is kept per slot: created at START (which frees whatever the slot held
before, e.g. a sequence Triton ended for idleness), freed at END, and also freed by a sweep
once idle for twice `max_sequence_idle_microseconds` (Triton never tells a model that it
ended a sequence for idleness or cancellation). So the states held are at most the slots
(`max_batch_size`) per instance, ~3 KiB each.

A request's audio is appended to the sequence's remainder (< 512 samples); each completed
frame gives one probability. Frames are processed one at a time, in order, on the sequence's
own state, so how the audio is split into requests does not change the probabilities.

Triton custom metrics: voxgate_vad_frames_total, voxgate_vad_active_sequences (a gauge,
incremented and decremented, so instances add up), voxgate_vad_sequences_freed_total{reason}.

Needs numpy, onnxruntime and the `silero-vad` wheel (installed --no-deps). Nothing from
voxgate. Contract: docs/model-contract.md, "Voice activity (vad)".
"""

import importlib.util
import json
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils

SAMPLE_RATE = 16000
FRAME = 512  # samples per frame at 16 kHz (32 ms): what Silero v6 takes
CONTEXT = 64  # samples of the previous frame put in front of each frame
STATE_SHAPE = (2, 1, 128)
ONNX_FILE = "silero_vad.onnx"
ONNX_INPUTS = {"input": "tensor(float)", "state": "tensor(float)", "sr": "tensor(int64)"}
ONNX_OUTPUTS = ("output", "stateN")  # in this order
CONTROLS = {  # control_input kind -> the tensor name this model reads
    "CONTROL_SEQUENCE_START": "START",
    "CONTROL_SEQUENCE_END": "END",
    "CONTROL_SEQUENCE_READY": "READY",
}
TENSORS = {  # name -> (data_type, dims) as the config must declare them (batch dim excluded)
    "input": {"audio": ("TYPE_FP32", [-1])},
    "output": {"speech_prob": ("TYPE_FP32", [-1]), "first_frame": ("TYPE_INT64", [1])},
}
FREED = ("end", "replaced", "idle")  # why a state was freed (a metric label)
IDLE_FACTOR = 2  # free a state idle this many times max_sequence_idle_microseconds

# Parameters (config.pbtxt) and their defaults.
DEFAULTS = {
    "model_package": "silero_vad",
    "model_file": "",
    "max_samples_per_request": "320000",
    "intra_op_threads": "1",
}


class BadRequest(Exception):
    """An input the model cannot serve; its message goes back to the caller."""


class ConfigError(Exception):
    """The model cannot load with this configuration or environment; the message says why."""


# -- pure helpers (unit-tested) --------------------------------------------------------------------


def find_onnx(package: str) -> Path:
    """`silero_vad.onnx` inside an installed package (silero_vad: `<pkg>/data/`), found with
    find_spec, without importing the package (silero_vad's __init__ imports torch)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"package {package!r} is not installed in this Python ({sys.prefix}); install it "
            f"with `pip install --no-deps silero-vad==6.2.3` (it needs no torch for this)"
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    for path in (root / "data" / ONNX_FILE, root / ONNX_FILE):
        if path.is_file():
            return path
    raise ConfigError(f"package {package!r} ({root}) holds no {ONNX_FILE}")


@dataclass(frozen=True)
class Settings:
    model_package: str
    model_file: str
    max_samples_per_request: int
    intra_op_threads: int


def settings_from(params: dict[str, str]) -> Settings:
    """Parameters (string values from config.pbtxt, defaults for the missing) -> Settings."""
    p = {**DEFAULTS, **{k: v for k, v in params.items() if v}}
    try:
        s = Settings(
            model_package=p["model_package"],
            model_file=p["model_file"],
            max_samples_per_request=int(p["max_samples_per_request"]),
            intra_op_threads=int(p["intra_op_threads"]),
        )
    except ValueError as err:
        raise ConfigError(f"bad parameter value ({err})") from None
    if s.max_samples_per_request < FRAME:
        raise ConfigError(f"max_samples_per_request must be >= {FRAME}")
    if s.intra_op_threads < 1:
        raise ConfigError("intra_op_threads must be >= 1")
    return s


@dataclass(frozen=True)
class SequenceConfig:
    slots: int  # sequence slots per instance (max_batch_size)
    idle_s: float  # max_sequence_idle_microseconds, in seconds
    controls: dict[str, str]  # "START"/"END"/"READY" -> the tensor name in the config


def _bool_pair(control: dict) -> bool:
    """Whether a control's false/true values are 0/1 (int32, fp32) or false/true (bool)."""
    for key in ("int32_false_true", "fp32_false_true"):
        values = control.get(key) or []
        if values:
            return [float(v) for v in values] == [0.0, 1.0]
    values = control.get("bool_false_true") or []
    return [bool(v) for v in values] == [False, True]


def check_config(config: dict) -> SequenceConfig:
    """The model config must be what this model serves: a sequence batcher with the direct
    strategy, START/END/READY controls with 0/1 values, max_batch_size >= 1 (the slots), and
    the tensors of the contract."""
    name = config.get("name", "vad")
    slots = int(config.get("max_batch_size", 0) or 0)
    if slots < 1:
        raise ConfigError(
            f"{name} needs max_batch_size >= 1: it is the number of sequence slots per instance"
        )
    seq = config.get("sequence_batching")
    if not seq:
        raise ConfigError(f"{name} needs sequence_batching (per-conversation state)")
    if seq.get("oldest"):
        raise ConfigError(
            f"{name} needs the sequence batcher's direct strategy (state is kept per slot); "
            "the config asks for oldest"
        )
    idle_us = int(seq.get("max_sequence_idle_microseconds", 0) or 0)
    if idle_us <= 0:
        raise ConfigError(f"{name} needs max_sequence_idle_microseconds > 0")
    if seq.get("state"):
        raise ConfigError(f"{name} keeps its own state: sequence_batching.state must be empty")
    controls: dict[str, str] = {}
    for entry in seq.get("control_input", []) or []:
        for control in entry.get("control", []) or []:
            # CONTROL_SEQUENCE_START is the enum's 0: protobuf's JSON may leave it out.
            kind = control.get("kind") or "CONTROL_SEQUENCE_START"
            if kind not in CONTROLS:
                continue
            if not _bool_pair(control):
                raise ConfigError(
                    f"{name}: control {entry.get('name')!r} ({kind}) must use false/true values 0/1"
                )
            controls[CONTROLS[kind]] = entry.get("name", "")
    missing = [CONTROLS[k] for k in CONTROLS if CONTROLS[k] not in controls]
    if missing:
        raise ConfigError(
            f"{name}: sequence_batching.control_input lacks {', '.join(missing)} "
            "(CONTROL_SEQUENCE_START, _END and _READY are all needed)"
        )
    for section, wanted in TENSORS.items():
        declared = {t.get("name"): t for t in config.get(section, [])}
        if set(declared) != set(wanted):
            raise ConfigError(
                f"{name}: {section}s must be {sorted(wanted)}, the config has {sorted(declared)}"
            )
        for tname, (dtype, dims) in wanted.items():
            got = (declared[tname].get("data_type"), [int(d) for d in declared[tname]["dims"]])
            if got != (dtype, dims):
                raise ConfigError(
                    f"{name}: {section} {tname!r} must be {dtype} {dims}, the config has "
                    f"{got[0]} {got[1]}"
                )
    return SequenceConfig(slots=slots, idle_s=idle_us / 1e6, controls=controls)


def check_onnx_io(session) -> None:
    """The ONNX file must have Silero v6's interface: inputs input float [batch, samples],
    state float [2, batch, 128], sr int64 scalar; outputs output float [batch, 1], stateN."""
    inputs = {i.name: i for i in session.get_inputs()}
    if set(inputs) != set(ONNX_INPUTS):
        raise ConfigError(
            f"the ONNX file's inputs are {sorted(inputs)}, not Silero v6's {sorted(ONNX_INPUTS)}"
        )
    for iname, itype in ONNX_INPUTS.items():
        if inputs[iname].type != itype:
            raise ConfigError(f"ONNX input {iname!r} is {inputs[iname].type}, expected {itype}")
    ranks = {"input": 2, "state": 3, "sr": 0}
    for iname, rank in ranks.items():
        if len(inputs[iname].shape) != rank:
            raise ConfigError(
                f"ONNX input {iname!r} has shape {inputs[iname].shape}, expected rank {rank}"
            )
    shape = inputs["state"].shape
    if shape[0] != STATE_SHAPE[0] or shape[2] != STATE_SHAPE[2]:
        raise ConfigError(f"ONNX input 'state' has shape {shape}, expected [2, batch, 128]")
    outputs = [o.name for o in session.get_outputs()]
    if tuple(outputs) != ONNX_OUTPUTS:
        raise ConfigError(f"the ONNX file's outputs are {outputs}, not Silero v6's {ONNX_OUTPUTS}")


# -- Silero VAD on onnxruntime ------------------------------------------------------------------


class SileroVad:
    """One onnxruntime session of silero_vad.onnx; `frames()` runs frames in order."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:
            raise ConfigError(f"cannot load {path} with onnxruntime ({err})") from None
        self.path = path
        check_onnx_io(self.session)
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        # One frame of silence from a fresh state: the shapes must be Silero v6's.
        probs, state, _ = self.frames(np.zeros(FRAME, np.float32), *fresh_state())
        if probs.shape != (1,) or state.shape != STATE_SHAPE or not np.isfinite(probs).all():
            raise ConfigError(
                f"{path.name}: a probe frame gave probabilities {probs.shape} and state "
                f"{state.shape}, expected (1,) and {STATE_SHAPE}"
            )

    def frames(
        self, samples: np.ndarray, state: np.ndarray, context: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Probabilities of the whole frames in `samples` (len a multiple of FRAME), and the
        state and context after them. The inputs are not modified."""
        count = samples.size // FRAME
        probs = np.empty(count, np.float32)
        window = np.empty((1, CONTEXT + FRAME), np.float32)
        window[0, :CONTEXT] = context
        run = self.session.run
        for i in range(count):
            frame = samples[i * FRAME : (i + 1) * FRAME]
            window[0, CONTEXT:] = frame
            out, state = run(None, {"input": window, "state": state, "sr": self._sr})
            probs[i] = out.reshape(-1)[0]
            window[0, :CONTEXT] = frame[-CONTEXT:]
        return probs, state, window[0, :CONTEXT].copy()


def fresh_state() -> tuple[np.ndarray, np.ndarray]:
    """Silero's state and context at the start of a stream: zeros."""
    return np.zeros(STATE_SHAPE, np.float32), np.zeros(CONTEXT, np.float32)


@dataclass
class Sequence:
    """One conversation's state: ~1 KiB recurrent state, 256 B context, < 2 KiB remainder."""

    correlation_id: int | str
    last_used: float
    state: np.ndarray = field(default_factory=lambda: fresh_state()[0])
    context: np.ndarray = field(default_factory=lambda: fresh_state()[1])
    remainder: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    frames: int = 0  # frames completed since START


# -- the Triton model --------------------------------------------------------------------------


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.name = config.get("name", "vad")
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        try:
            self.sequence = check_config(config)
            self.settings = settings_from(params)
            s = self.settings
            path = Path(s.model_file) if s.model_file else find_onnx(s.model_package)
            if not path.is_file():
                raise ConfigError(f"model file {path} does not exist")
            self.vad = SileroVad(path, s.intra_op_threads)
        except ConfigError as err:
            raise pb_utils.TritonModelException(f"{self.name}: {err}") from None
        self.clock = time.monotonic
        self.lock = threading.Lock()
        self.states: dict[int, Sequence] = {}  # slot -> the sequence that holds it
        self.stopping = threading.Event()
        self._init_metrics()
        idle = self.sequence.idle_s
        self.sweeper = threading.Thread(
            target=self._sweep_loop, args=(min(max(idle / 2, 0.25), 30.0),), daemon=True
        )
        self.sweeper.start()
        _log(
            "info",
            f"{self.name}: {self.vad.path}, {self.sequence.slots} sequence slots, "
            f"idle timeout {idle:g} s (states freed after {IDLE_FACTOR * idle:g} s idle), "
            f"max {s.max_samples_per_request} samples per request",
        )

    def _init_metrics(self) -> None:
        family = pb_utils.MetricFamily
        self.m_frames_family = family(
            name="voxgate_vad_frames_total",
            description="32 ms frames the vad model scored",
            kind=family.COUNTER,
        )
        self.m_frames = self.m_frames_family.Metric(labels={})
        self.m_active_family = family(
            name="voxgate_vad_active_sequences",
            description="sequences whose state the vad model holds (all instances)",
            kind=family.GAUGE,
        )
        self.m_active = self.m_active_family.Metric(labels={})
        self.m_freed_family = family(
            name="voxgate_vad_sequences_freed_total",
            description="vad sequence states freed, by reason (end, replaced, idle)",
            kind=family.COUNTER,
        )
        self.m_freed = {r: self.m_freed_family.Metric(labels={"reason": r}) for r in FREED}

    # -- requests --------------------------------------------------------------------------------

    def execute(self, requests):
        # Direct strategy: request i is sequence slot i of this instance.
        with self.lock:
            responses = [self._serve(slot, r) for slot, r in enumerate(requests)]
            self._sweep()
        return responses

    def _serve(self, slot: int, request):
        try:
            if not self._control(request, "READY"):
                return self._response(np.zeros(0, np.float32), 0)  # a null request: no slot use
            return self._step(slot, request)
        except BadRequest as err:
            return _error(str(err))
        except Exception as err:
            _log(
                "error",
                f"{self.name} request {request.request_id()!r} failed:\n" + traceback.format_exc(),
            )
            return _error(f"{self.name} failed ({type(err).__name__})", "INTERNAL")

    def _step(self, slot: int, request):
        start, end = self._control(request, "START"), self._control(request, "END")
        corrid = request.correlation_id()
        now = self.clock()
        if start:
            if slot in self.states:  # the slot's previous sequence never ENDed (or same id)
                self._free(slot, "replaced")
            self.states[slot] = Sequence(corrid, now)
            self.m_active.increment(1)
        seq = self.states.get(slot)
        if seq is None or seq.correlation_id != corrid:
            # (Another sequence's state in the slot is left alone: Triton routes a sequence to
            # its slot only after its START went there, so that state is the slot's owner.)
            raise BadRequest(
                f"sequence {corrid}: no state (its first request must carry START; a sequence "
                f"idle for more than {self.sequence.idle_s:g} s is ended)"
            )
        seq.last_used = now
        try:
            audio = self._audio(request)
            samples = np.concatenate((seq.remainder, audio)) if seq.remainder.size else audio
            whole = samples.size - samples.size % FRAME
            probs, state, context = self.vad.frames(samples[:whole], seq.state, seq.context)
            first = seq.frames
            # Commit only once every frame ran: an error leaves the state as it was.
            seq.state, seq.context = state, context
            seq.remainder = samples[whole:].copy()
            seq.frames += probs.size
            self.m_frames.increment(probs.size)
        finally:
            if end:
                self._free(slot, "end")
        return self._response(probs, first)

    def _audio(self, request) -> np.ndarray:
        tensor = pb_utils.get_input_tensor_by_name(request, "audio")
        if tensor is None:
            raise BadRequest("audio: required")
        audio = np.asarray(tensor.as_numpy(), dtype=np.float32).reshape(-1)
        limit = self.settings.max_samples_per_request
        if audio.size > limit:
            raise BadRequest(
                f"audio: {audio.size} samples in one request, the limit is {limit} "
                f"({limit / SAMPLE_RATE:g} s at 16 kHz); send it in several requests"
            )
        if not np.isfinite(audio).all():
            bad = int(np.flatnonzero(~np.isfinite(audio))[0])
            raise BadRequest(f"audio: non-finite sample (NaN or infinity) at index {bad}")
        return audio

    def _control(self, request, which: str) -> bool:
        tensor = pb_utils.get_input_tensor_by_name(request, self.sequence.controls[which])
        if tensor is None:
            raise RuntimeError(f"control tensor {which} missing (not sent by the batcher)")
        return bool(tensor.as_numpy().reshape(-1)[0])

    def _response(self, probs: np.ndarray, first: int):
        outputs = [
            pb_utils.Tensor("speech_prob", probs.astype(np.float32).reshape(1, -1)),
            pb_utils.Tensor("first_frame", np.array([[first]], np.int64)),
        ]
        return pb_utils.InferenceResponse(output_tensors=outputs)

    # -- state lifetime ----------------------------------------------------------------------------

    def _free(self, slot: int, reason: str | None) -> None:
        if self.states.pop(slot, None) is not None:
            self.m_active.increment(-1)
            if reason is not None:
                self.m_freed[reason].increment(1)

    def _sweep(self) -> None:
        """Free the states of sequences idle for IDLE_FACTOR x the batcher's idle timeout.
        Triton has ended them by then (it does not tell the model): a later request of theirs
        without START is refused by Triton itself. The margin covers the reaper's latency and
        a request already queued when the sweep runs."""
        limit = self.clock() - IDLE_FACTOR * self.sequence.idle_s
        for slot in [s for s, q in self.states.items() if q.last_used < limit]:
            self._free(slot, "idle")

    def _sweep_loop(self, period: float) -> None:
        while not self.stopping.wait(period):
            with self.lock:
                self._sweep()

    def finalize(self):
        self.stopping.set()
        self.sweeper.join(timeout=5)
        with self.lock:
            for slot in list(self.states):
                self._free(slot, None)  # unloading: the gauge goes back down
        # Metrics before their families (Triton's rule).
        self.m_freed.clear()
        self.m_frames = self.m_active = None
        self.m_frames_family = self.m_active_family = self.m_freed_family = None


def _error(message: str, code_name: str = "INVALID_ARG"):
    """One error response with a plain message (and Triton's error code where supported)."""
    code = getattr(pb_utils.TritonError, code_name, None)
    if code is None:
        return pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(message))
    error = pb_utils.TritonError(message, code)
    return pb_utils.InferenceResponse(output_tensors=[], error=error)


def _log(level: str, message: str) -> None:
    logger = getattr(pb_utils, "Logger", None)
    fn = getattr(logger, f"log_{level}", None) if logger is not None else None
    if fn is not None:
        fn(message)
