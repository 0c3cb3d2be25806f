"""stream_tokenizer: live 16 kHz audio -> both token streams, with per-stream state (reference).

StreamTokenize without this model sends every new 120 ms group to the tokenize ensemble with
two groups of context on each side: five groups analysed per group kept. This model keeps each
stream's analysis instead. A request carries the samples that arrived; the model analyses the
sub-frames whose 1024-sample frames are now complete (`frontend.onnx`: the tokenizers' own
per-sub-frame analysis) and, for every group whose sub-frames and W sub-frames on each side are
analysed, computes its ids (`head.onnx`: the tokenizers' normalisation, codebook and gain/F0
ids). The ids equal the tokenize ensemble's on the whole recording: the analysis of a sub-frame
depends only on its frame, the ids of a group only on the analysis around it (a test checks
this on every split). END pads the recording with zeros, as the tokenizers do, and flushes
every whole group.

Frames of all the requests of a batch go through `frontend.onnx` in one run, and groups of
equal count through `head.onnx` in one run: many streams, one model call.

State lives per sequence slot (Triton's sequence batcher, strategy `direct`: a sequence keeps
one slot of one instance). It is created at START (freeing what the slot held), freed at END,
and freed by a sweep once idle for twice `max_sequence_idle_microseconds` (Triton does not tell
a model that it ended a sequence). Per stream: < 1024 samples + a request's audio, and the
analysis of < 6 + 2W sub-frames (~3 KiB).

Needs numpy and onnxruntime, nothing from voxgate: the cutting constants are the ONNX files'
metadata. Contract: docs/model-contract.md, "Stream tokenizer".
"""

import json
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils

CONTROLS = {
    "CONTROL_SEQUENCE_START": "START",
    "CONTROL_SEQUENCE_END": "END",
    "CONTROL_SEQUENCE_READY": "READY",
}
FEATURES = ("cep", "ap", "voiced", "f0")  # frontend outputs = head inputs
OUTPUTS = ("linguistic_tokens", "semantic_tokens", "first_group")
FREED = ("end", "replaced", "idle")
IDLE_FACTOR = 2  # free a state idle this many times max_sequence_idle_microseconds
SAMPLE_RATE = 16000


class BadRequest(Exception):
    """An input the model cannot serve; its message goes back to the caller."""


@dataclass(frozen=True)
class Layout:
    """How samples become frames and frames become groups (the ONNX files' metadata)."""

    pad: int  # zeros before the first sample and after the last
    hop: int  # samples between sub-frames
    frame_offset: int  # sub-frame j's frame starts at padded sample j * hop + frame_offset
    frame_length: int
    subframes_per_group: int
    norm_half_window: int  # W: sub-frames of analysis on each side a group's ids read
    group_samples: int

    @classmethod
    def of(cls, session: ort.InferenceSession) -> "Layout":
        meta = session.get_modelmeta().custom_metadata_map
        return cls(**{k: int(meta[k]) for k in cls.__dataclass_fields__})

    @property
    def lookahead(self) -> int:
        """Samples after a group's end that its ids need (the last frame its window reads)."""
        # group g reads sub-frames up to 6(g + 1) + 2W - 1; the group ends at sample 6(g + 1) hops
        last = (self.span - 1) * self.hop + self.frame_offset + self.frame_length
        return last - self.pad

    @property
    def span(self) -> int:
        """Sub-frames whose analysis a group's ids read beyond its own."""
        return 2 * self.norm_half_window

    def frames_available(self, padded_samples: int) -> int:
        """Sub-frames whose frames lie within the first `padded_samples` padded samples."""
        return max(0, (padded_samples - self.frame_offset - self.frame_length) // self.hop + 1)


@dataclass
class Stream:
    """One stream's state: the samples its next frames need and the analysis its next groups
    need. Padded coordinates: sample i of the stream is padded sample pad + i."""

    correlation_id: int | str
    last_used: float
    buffer: np.ndarray  # padded samples [base, base + len)
    base: int = 0
    received: int = 0  # samples of the stream so far
    next_frame: int = 0  # sub-frames analysed so far
    features: dict = field(default_factory=dict)  # analysis of sub-frames [feature_base, ...)
    groups_done: int = 0

    def frames(self, lay: Layout, stop: int) -> np.ndarray:
        """[n, frame_length] frames of sub-frames [next_frame, stop); drops samples no later
        frame needs."""
        n = stop - self.next_frame
        if n <= 0:
            return np.zeros((0, lay.frame_length), np.float32)
        first = self.next_frame * lay.hop + lay.frame_offset - self.base
        out = np.lib.stride_tricks.sliding_window_view(self.buffer, lay.frame_length)
        frames = np.ascontiguousarray(out[first : first + n * lay.hop : lay.hop])
        keep = stop * lay.hop + lay.frame_offset - self.base
        self.buffer, self.base = self.buffer[keep:].copy(), self.base + keep
        self.next_frame = stop
        return frames


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.name = config.get("name", "stream_tokenizer")
        try:
            self.slots, self.idle_s, self.controls = _sequence_config(config)
        except ValueError as err:
            raise pb_utils.TritonModelException(f"{self.name}: {err}") from None
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        self.max_samples = int(params.get("max_samples_per_request") or 320000)
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(params.get("intra_op_threads") or 1)
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False  # memory goes back after each run (voxgate_onnx)
        folder = Path(args["model_repository"]) / args["model_version"]
        self.frontend, self.head = (
            ort.InferenceSession(str(folder / f), options, providers=["CPUExecutionProvider"])
            for f in ("frontend.onnx", "head.onnx")
        )
        self.layout = Layout.of(self.frontend)
        if Layout.of(self.head) != self.layout:
            raise pb_utils.TritonModelException(f"{self.name}: frontend and head disagree")
        # The façade sends a stream's samples when they complete a group's look-ahead: the
        # config tells it, and must tell the truth.
        declared = params.get("lookahead_samples", "")
        if declared != str(self.layout.lookahead):
            raise pb_utils.TritonModelException(
                f"{self.name}: parameter lookahead_samples is {declared!r}, the model's is "
                f"{self.layout.lookahead}"
            )
        self.clock = time.monotonic
        self.lock = threading.Lock()
        self.streams: dict[int, Stream] = {}  # slot -> the stream that holds it
        self.stopping = threading.Event()
        self._init_metrics()
        self.sweeper = threading.Thread(
            target=self._sweep_loop, args=(min(max(self.idle_s / 2, 0.25), 30.0),), daemon=True
        )
        self.sweeper.start()

    def _init_metrics(self) -> None:
        family = pb_utils.MetricFamily
        self.m_active_family = family(
            name="voxgate_stream_tokenizer_active_sequences",
            description="streams whose state the stream tokenizer holds (all instances)",
            kind=family.GAUGE,
        )
        self.m_active = self.m_active_family.Metric(labels={})
        self.m_freed_family = family(
            name="voxgate_stream_tokenizer_sequences_freed_total",
            description="stream tokenizer states freed, by reason (end, replaced, idle)",
            kind=family.COUNTER,
        )
        self.m_freed = {r: self.m_freed_family.Metric(labels={"reason": r}) for r in FREED}

    # -- requests --------------------------------------------------------------------------------

    def execute(self, requests):
        # Direct strategy: request i is sequence slot i of this instance.
        with self.lock:
            responses: list = [None] * len(requests)
            work: list[tuple[int, Stream, int, int]] = []  # slot, stream, frames to, groups to
            for slot, request in enumerate(requests):
                try:
                    step = self._admit(slot, request)
                except BadRequest as err:
                    responses[slot] = _error(str(err))
                    continue
                if step is None:
                    responses[slot] = _tokens(np.zeros(0), np.zeros(0), 0)
                else:
                    work.append(step)
            try:
                self._run(work, responses)
            except Exception as err:
                _log("error", f"{self.name}: batch failed:\n" + traceback.format_exc())
                for slot, _, _, _ in work:
                    responses[slot] = _error(
                        f"{self.name} failed ({type(err).__name__})", "INTERNAL"
                    )
            for slot, request in enumerate(requests):
                if self._control(request, "READY") and self._control(request, "END"):
                    self._free(slot, "end")
            self._sweep()
        return responses

    def _admit(self, slot: int, request) -> tuple[int, Stream, int, int] | None:
        """Adds the request's samples to its stream; returns what to compute (None for a
        null request of an idle slot)."""
        if not self._control(request, "READY"):
            return None
        start, end = self._control(request, "START"), self._control(request, "END")
        corrid, now = request.correlation_id(), self.clock()
        lay = self.layout
        if start:
            if slot in self.streams:
                self._free(slot, "replaced")
            self.streams[slot] = Stream(corrid, now, np.zeros(lay.pad, np.float32))
            self.m_active.increment(1)
        stream = self.streams.get(slot)
        if stream is None or stream.correlation_id != corrid:
            raise BadRequest(
                f"sequence {corrid}: no state (its first request must carry START; a sequence "
                f"idle for more than {self.idle_s:g} s is ended)"
            )
        stream.last_used = now
        audio = self._audio(request)
        stream.received += audio.size
        tail = np.zeros(lay.pad, np.float32) if end else audio[:0]
        stream.buffer = np.concatenate((stream.buffer, audio, tail))
        frames = lay.frames_available(stream.base + stream.buffer.size)
        groups = max(0, (frames - lay.span) // lay.subframes_per_group)
        if end:  # whole groups only, as Tokenize of the whole recording
            groups = min(groups, stream.received // lay.group_samples)
            frames = min(frames, groups * lay.subframes_per_group + lay.span)
        return slot, stream, max(frames, stream.next_frame), max(groups, stream.groups_done)

    def _run(self, work: list, responses: list) -> None:
        lay = self.layout
        batches = [s.frames(lay, stop) for _, s, stop, _ in work]
        if sum(len(f) for f in batches):
            got = self.frontend.run(list(FEATURES), {"frames": np.concatenate(batches)[None]})
            at = 0
            for (_, stream, _, _), frames in zip(work, batches, strict=True):
                new = {k: v[0, at : at + len(frames)] for k, v in zip(FEATURES, got, strict=True)}
                at += len(frames)
                old = stream.features
                stream.features = {
                    k: np.concatenate((old[k], new[k])) if old else new[k] for k in FEATURES
                }
        by_count: dict[int, list] = {}
        for item in work:
            _, stream, _, groups = item
            by_count.setdefault(groups - stream.groups_done, []).append(item)
        for count, items in by_count.items():
            if count == 0:
                for slot, stream, _, _ in items:
                    responses[slot] = _tokens(np.zeros(0), np.zeros(0), stream.groups_done)
                continue
            width = count * lay.subframes_per_group + lay.span
            feed = {k: np.stack([s.features[k][:width] for _, s, _, _ in items]) for k in FEATURES}
            ling, sem = self.head.run(["linguistic_tokens", "semantic_tokens"], feed)
            for row, (slot, stream, _, groups) in enumerate(items):
                responses[slot] = _tokens(ling[row], sem[row], stream.groups_done)
                drop = count * lay.subframes_per_group
                stream.features = {k: v[drop:] for k, v in stream.features.items()}
                stream.groups_done = groups

    def _audio(self, request) -> np.ndarray:
        tensor = pb_utils.get_input_tensor_by_name(request, "waveform")
        if tensor is None:
            raise BadRequest("waveform: required")
        audio = np.asarray(tensor.as_numpy(), dtype=np.float32).reshape(-1)
        if audio.size > self.max_samples:
            raise BadRequest(
                f"waveform: {audio.size} samples in one request, the limit is {self.max_samples} "
                f"({self.max_samples / SAMPLE_RATE:g} s at 16 kHz); send it in several requests"
            )
        if not np.isfinite(audio).all():
            raise BadRequest("waveform: non-finite sample (NaN or infinity)")
        return audio

    def _control(self, request, which: str) -> bool:
        tensor = pb_utils.get_input_tensor_by_name(request, self.controls[which])
        if tensor is None:
            raise RuntimeError(f"control tensor {which} missing (not sent by the batcher)")
        return bool(tensor.as_numpy().reshape(-1)[0])

    # -- state lifetime ----------------------------------------------------------------------------

    def _free(self, slot: int, reason: str | None) -> None:
        if self.streams.pop(slot, None) is not None:
            self.m_active.increment(-1)
            if reason is not None:
                self.m_freed[reason].increment(1)

    def _sweep(self) -> None:
        limit = self.clock() - IDLE_FACTOR * self.idle_s
        for slot in [s for s, q in self.streams.items() if q.last_used < limit]:
            self._free(slot, "idle")

    def _sweep_loop(self, period: float) -> None:
        while not self.stopping.wait(period):
            with self.lock:
                self._sweep()

    def finalize(self):
        self.stopping.set()
        self.sweeper.join(timeout=5)
        with self.lock:
            for slot in list(self.streams):
                self._free(slot, None)
        self.m_freed.clear()
        self.m_active = None
        self.m_active_family = self.m_freed_family = None


def _sequence_config(config: dict) -> tuple[int, float, dict[str, str]]:
    """(slots, idle seconds, control tensor names) of a direct-strategy sequence batcher."""
    slots = int(config.get("max_batch_size", 0) or 0)
    seq = config.get("sequence_batching") or {}
    if slots < 1 or "direct" not in seq:
        raise ValueError("needs max_batch_size >= 1 and sequence_batching with direct { }")
    idle_us = int(seq.get("max_sequence_idle_microseconds", 0) or 0)
    if idle_us <= 0:
        raise ValueError("needs max_sequence_idle_microseconds > 0")
    controls = {}
    for entry in seq.get("control_input", []) or []:
        for control in entry.get("control", []) or []:
            kind = control.get("kind") or "CONTROL_SEQUENCE_START"  # the enum's 0 may be omitted
            if kind in CONTROLS:
                controls[CONTROLS[kind]] = entry["name"]
    if set(controls) != set(CONTROLS.values()):
        raise ValueError("sequence_batching.control_input needs START, END and READY controls")
    return slots, idle_us / 1e6, controls


def _tokens(ling: np.ndarray, sem: np.ndarray, first_group: int):
    outputs = [
        pb_utils.Tensor("linguistic_tokens", np.asarray(ling, np.int64).reshape(1, -1)),
        pb_utils.Tensor("semantic_tokens", np.asarray(sem, np.int64).reshape(1, -1)),
        pb_utils.Tensor("first_group", np.array([[first_group]], np.int64)),
    ]
    return pb_utils.InferenceResponse(output_tensors=outputs)


def _error(message: str, code_name: str = "INVALID_ARG"):
    code = getattr(pb_utils.TritonError, code_name, None)
    error = pb_utils.TritonError(message) if code is None else pb_utils.TritonError(message, code)
    return pb_utils.InferenceResponse(output_tensors=[], error=error)


def _log(level: str, message: str) -> None:
    logger = getattr(pb_utils, "Logger", None)
    fn = getattr(logger, f"log_{level}", None) if logger is not None else None
    if fn is not None:
        fn(message)
