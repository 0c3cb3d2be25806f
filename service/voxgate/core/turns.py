"""Where a user's spoken turns start and end, from per-frame speech probabilities (the VAD's).

Transport- and model-neutral: `TurnDetector` turns probabilities of 32 ms frames into events;
`AudioRing` keeps the recent input audio by absolute sample position, so the recognizer can be
fed the audio from just before the onset (prefix padding) and held back over a pause.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

FRAME_SAMPLES = 512  # the VAD's frame: 32 ms at 16 kHz
FRAME_MS = 32
SAMPLE_RATE = 16000


@dataclass(frozen=True)
class TurnSettings:
    """Turn detection of one conversation (ChatConfig.turn_detection, defaults resolved)."""

    silence_ms: int = 500  # silence that ends a turn
    prefix_padding_ms: int = 300  # audio before the onset kept for recognition
    threshold: float = 0.5  # speech probability of a speech frame
    onset_ms: int = 96  # speech this long (consecutive frames) starts a turn: not a click

    @property
    def release(self) -> float:
        """Below this a frame is silence; between release and threshold nothing changes
        (hysteresis, as Silero's own segmenter uses threshold - 0.15)."""
        return max(0.01, self.threshold - 0.15)


class Kind(Enum):
    STARTED = "started"  # speech began (offset: the first speech frame)
    PAUSED = "paused"  # the first silent frame after speech: the turn may be ending
    RESUMED = "resumed"  # speech again before the silence window elapsed
    STOPPED = "stopped"  # `silence_ms` of silence: the turn ended (offset: end of speech)


@dataclass(frozen=True)
class TurnEvent:
    kind: Kind
    sample: int  # absolute position in the conversation's 16 kHz input

    @property
    def offset_ms(self) -> int:
        return self.sample * 1000 // SAMPLE_RATE


class TurnDetector:
    """Speech onset and end of turn from a stream of frame probabilities.

    Onset: `onset_ms` of consecutive frames at or above the threshold. End: `silence_ms` of
    consecutive frames below the release level. PAUSED/RESUMED mark a silence that may end the
    turn, so a recognizer can start its final decode before the window has elapsed.
    """

    def __init__(self, settings: TurnSettings) -> None:
        self.settings = settings
        self.speaking = False
        self._run = 0  # consecutive frames pointing the other way
        self._run_start = 0  # first frame of that run
        self._paused = False
        self._onset_frames = max(1, -(-settings.onset_ms // FRAME_MS))
        self._silence_frames = max(1, -(-settings.silence_ms // FRAME_MS))

    def push(self, first_frame: int, probs: np.ndarray) -> list[TurnEvent]:
        events: list[TurnEvent] = []
        for i, p in enumerate(np.asarray(probs, np.float32).reshape(-1)):
            events.extend(self._frame(first_frame + i, float(p)))
        return events

    def _frame(self, index: int, p: float) -> list[TurnEvent]:
        s = self.settings
        if not self.speaking:
            if p >= s.threshold:
                if self._run == 0:
                    self._run_start = index
                self._run += 1
                if self._run >= self._onset_frames:
                    self.speaking, self._run = True, 0
                    return [TurnEvent(Kind.STARTED, self._run_start * FRAME_SAMPLES)]
            else:
                self._run = 0
            return []
        if p < s.release:
            if self._run == 0:
                self._run_start = index
            self._run += 1
            if self._run >= self._silence_frames:
                self.speaking, self._run, self._paused = False, 0, False
                return [TurnEvent(Kind.STOPPED, self._run_start * FRAME_SAMPLES)]
            if not self._paused:
                self._paused = True
                return [TurnEvent(Kind.PAUSED, self._run_start * FRAME_SAMPLES)]
            return []
        if p >= s.threshold and self._run:
            self._run = 0
            if self._paused:
                self._paused = False
                return [TurnEvent(Kind.RESUMED, index * FRAME_SAMPLES)]
        return []


class AudioRing:
    """The last `keep_samples` of a 16 kHz stream, addressed by absolute sample position."""

    def __init__(self, keep_samples: int) -> None:
        self._keep = keep_samples
        self._buf = np.zeros(0, np.float32)
        self.start = 0  # absolute position of _buf[0]

    @property
    def end(self) -> int:
        return self.start + len(self._buf)

    def append(self, samples: np.ndarray) -> None:
        self._buf = np.concatenate([self._buf, np.asarray(samples, np.float32)])
        extra = len(self._buf) - self._keep
        if extra > 0:
            self._buf = self._buf[extra:]
            self.start += extra

    def slice(self, a: int, b: int) -> np.ndarray:
        """Samples [a, b), clipped to what is still held."""
        a, b = max(a, self.start), min(b, self.end)
        if b <= a:
            return np.zeros(0, np.float32)
        return self._buf[a - self.start : b - self.start].copy()
