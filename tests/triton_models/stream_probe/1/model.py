"""stream_probe: a decoupled Python-backend model for testing voxgate's streaming adapter.

Each request runs in its own thread (so one instance serves many streams at once), checks
cancellation before every step, and keeps its state in `self.active` until it ends; every
transition is appended to `<model folder>/events.jsonl` as a JSON line.
"""

import json
import threading
import time
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        if not pb_utils.using_decoupled_model_transaction_policy(config):
            raise pb_utils.TritonModelException("stream_probe must be decoupled")
        self.events = Path(args["model_repository"]) / "events.jsonl"
        self.lock = threading.Lock()
        self.active = {}  # request id -> steps sent; freed on finish, cancel and error

    def _log(self, rid, event, **extra):
        line = json.dumps({"id": rid, "event": event, "t": time.time(), **extra})
        with self.lock, self.events.open("a") as f:
            f.write(line + "\n")

    def execute(self, requests):
        for request in requests:
            threading.Thread(target=self._run, args=(request,), daemon=True).start()
        return None

    def _run(self, request):
        sender = request.get_response_sender()
        rid = request.request_id()
        count = int(pb_utils.get_input_tensor_by_name(request, "count").as_numpy()[0])
        interval = int(pb_utils.get_input_tensor_by_name(request, "interval_ms").as_numpy()[0])
        fail = pb_utils.get_input_tensor_by_name(request, "fail_at")
        fail_at = int(fail.as_numpy()[0]) if fail is not None else -1
        with self.lock:
            self.active[rid] = 0
        self._log(rid, "start", count=count)
        outcome, flags = "finished", pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL
        try:
            for i in range(count):
                if sender.is_cancelled():
                    outcome = "cancelled"
                    break
                if i == fail_at:
                    outcome = "failed"
                    error = pb_utils.TritonError(f"stream_probe failed at step {i}")
                    sender.send(pb_utils.InferenceResponse(error=error))
                    break
                out = [
                    pb_utils.Tensor("index", np.array([i], np.int32)),
                    pb_utils.Tensor("label", np.array([f"step {i}".encode()], np.object_)),
                ]
                sender.send(pb_utils.InferenceResponse(output_tensors=out))
                with self.lock:
                    self.active[rid] = i + 1
                self._log(rid, "step", index=i)
                time.sleep(interval / 1000)
        except Exception as err:  # a send into a stream that has gone away
            outcome = "cancelled" if sender.is_cancelled() else f"error {type(err).__name__}"
        finally:
            try:
                sender.send(flags=flags)
            except Exception as err:  # e.g. the stream is already gone after a cancel
                self._log(rid, "final_flag_not_sent", error=type(err).__name__)
            with self.lock:
                steps = self.active.pop(rid, 0)
                left = len(self.active)
            self._log(rid, outcome, steps=steps, active_after=left)

    def finalize(self):
        self._log("", "finalize", active=len(self.active))
