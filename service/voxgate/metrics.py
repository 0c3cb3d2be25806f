"""The Prometheus endpoint: the façade's own metrics and, appended as Triton wrote them, the
embedded Triton's (`nv_inference_*`, and the `voxgate_{llm,tts,vad,asr}_*` series its Python
models publish), so that one scrape target shows a whole voxgate process.

Triton's text is passed through, not parsed and re-encoded: prometheus_client's parser would
rename counters (`nv_inference_count` -> `nv_inference_count_total`) and break dashboards.
"""

from __future__ import annotations

import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from voxgate.logs import get_logger

log = get_logger(__name__)


def triton_text(url: str, timeout_s: float = 2.0) -> bytes:
    """Triton's metrics page, or nothing when it cannot be read (a restarting Triton must not
    fail the scrape of the façade's own metrics)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as reply:
            return reply.read()
    except OSError as err:
        log.warning("triton_metrics_unreadable", url=url, error=str(err))
        return b""


def page(triton_metrics_url: str | None) -> bytes:
    text = generate_latest(REGISTRY)
    if triton_metrics_url:
        text += triton_text(triton_metrics_url)
    return text


def start_metrics(
    port: int, host: str, triton_metrics_url: str | None
) -> ThreadingHTTPServer | None:
    """Serves /metrics on host:port in a daemon thread. A port in use is logged and skipped:
    metrics must not keep the service from serving."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the http.server API
            if self.path.split("?")[0] not in ("/metrics", "/"):
                self.send_error(404)
                return
            body = page(triton_metrics_url)
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # scrapes are not worth a log line
            pass

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as err:
        log.error("metrics_port_unavailable", port=port, host=host, error=str(err))
        return None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics", url=f"http://{host}:{port}/metrics", triton=triton_metrics_url)
    return server
