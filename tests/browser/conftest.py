"""The demo in a real browser: a real voxgate (embedded Triton with the real CPU models), the
real `voxgate demo` bridge as its own process, and a real headless Chromium driven by
Selenium, whose fake microphone plays flite's speech (Debian's chromium + chromium-driver,
which scripts/system-deps.sh installs).

The server and Triton here are built by the same helpers as tests/service/conftest.py, but
package-scoped: pytest shows a conftest's fixtures only to tests under its folder, so the
session server of tests/service cannot be shared; package scope stops this one before
tests/service starts its own, so that only one such Triton runs at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from voxgate.config import Settings

from tests.service.conftest import MODEL_REPOSITORY, running_triton, test_repository

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
QUESTION = "What is the capital of France?"
LONG_QUESTION = "Tell me all about the capital of France, in detail."


def _find(*names: str) -> str | None:
    for name in names:
        if name and (path := shutil.which(name)):
            return path
    return None


CHROMIUM = _find(os.environ.get("VOXGATE_CHROMIUM", ""), "chromium", "chromium-browser")
CHROMEDRIVER = _find(os.environ.get("VOXGATE_CHROMEDRIVER", ""), "chromedriver")
try:
    import selenium  # noqa: F401

    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

MISSING = [
    what
    for what, ok in (
        ("chromium", CHROMIUM),
        ("chromedriver (Debian: chromium-driver)", CHROMEDRIVER),
        ("selenium (pip: the dev extra)", HAVE_SELENIUM),
        ("flite", shutil.which("flite")),
        ("sox", shutil.which("sox")),
    )
    if not ok
]
needs_browser = pytest.mark.skipif(
    bool(MISSING),
    reason=f"browser tests need {', '.join(MISSING)}: run scripts/system-deps.sh",
)


@pytest.fixture(scope="package")
def browser_repository(tmp_path_factory) -> Path:
    if not all((MODEL_REPOSITORY / m).exists() for m in ("tokenize", "chat_llm", "vad", "asr")):
        pytest.fail(f"models missing in {MODEL_REPOSITORY}: run `voxgate models build`")
    return test_repository(tmp_path_factory.mktemp("browser-repository") / "models")


@pytest.fixture(scope="package")
async def triton(tmp_path_factory, browser_repository):
    run_dir = tmp_path_factory.mktemp("browser-triton")
    async with running_triton(browser_repository, run_dir) as runtime:
        yield runtime


@pytest.fixture(scope="package")
async def server(triton, tmp_path_factory):
    from voxgate.server import create_server

    settings = Settings(
        voices_db=tmp_path_factory.mktemp("browser-data") / "voices.sqlite3",
        host="127.0.0.1",
        port=0,
        health_poll_s=0.2,
    )
    srv, port = create_server(settings, triton.url)
    await srv.start()
    await asyncio.wait_for(srv.serving.wait(), 120)
    yield srv, f"127.0.0.1:{port}"
    await srv.stop(grace=1.0)


@contextlib.contextmanager
def running_demo(address: str, log: Path):
    """`voxgate demo --port 0 --address ADDRESS` in its own process; yields its URL."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("VOXGATE_ADDR", None)
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voxgate.cli", "demo", "--port", "0", "--address", address],
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            cwd=ROOT,
        )
    first_line: list[bytes] = []
    reader = threading.Thread(target=lambda: first_line.append(proc.stdout.readline()))
    reader.start()
    reader.join(60)
    try:
        line = first_line[0].decode() if first_line else ""
        if not line.startswith("voxgate demo: http://"):
            pytest.fail(f"voxgate demo did not start ({line!r}):\n{log.read_text()[-3000:]}")
        url = line.split()[2]
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as reply:
                    assert reply.status == 200
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"voxgate demo does not answer at {url}:\n{log.read_text()}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


@pytest.fixture(scope="package")
def demo_url(server, tmp_path_factory) -> str:
    """The bridge to the test server."""
    with running_demo(server[1], tmp_path_factory.mktemp("demo") / "demo.log") as url:
        yield url


def _spoken(text: str, folder: Path) -> Path:
    """flite saying TEXT between short silences, as a 16 kHz WAV file."""
    from voxgate.reference import corpus

    speech = corpus.synthesize_flite(text, "slt")
    rate = 16000
    samples = np.concatenate([np.zeros(rate // 5, np.float32), speech, np.zeros(rate, np.float32)])
    path = folder / "question.wav"
    sf.write(path, samples, rate, subtype="PCM_16")
    return path


@pytest.fixture(scope="package")
def question_wav(tmp_path_factory) -> Path:
    """The fake microphone's input: QUESTION. Chromium plays it in a loop from when the page
    opens the microphone."""
    return _spoken(QUESTION, tmp_path_factory.mktemp("fake-mic"))


@pytest.fixture(scope="package")
def long_question_wav(tmp_path_factory) -> Path:
    """LONG_QUESTION, whose reply lasts: SmolLM2 answers it with its whole token budget (6-7 s
    of generation on one thread, then its speech), where QUESTION's short answer can be
    generated and spoken before a second question's onset reaches the server's VAD."""
    return _spoken(LONG_QUESTION, tmp_path_factory.mktemp("long-question"))


@pytest.fixture(scope="package")
def silence_wav(tmp_path_factory) -> Path:
    """A quiet room, for a fake microphone that says nothing."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("quiet-mic") / "silence.wav"
    sf.write(path, (rng.standard_normal(16000) * 1e-4).astype(np.float32), 16000, "PCM_16")
    return path


@pytest.fixture(scope="package")
def driver(question_wav):
    """Headless Chromium whose fake microphone says QUESTION in a loop."""
    browser = chromium(question_wav)
    yield browser
    with contextlib.suppress(Exception):
        browser.quit()


@pytest.fixture(scope="package")
def quiet_driver(silence_wav):
    """Headless Chromium whose fake microphone is silent (speech comes from files)."""
    browser = chromium(silence_wav)
    yield browser
    with contextlib.suppress(Exception):
        browser.quit()


def chromium(microphone: Path):
    """Headless Chromium with a fake microphone playing `microphone`, and no autoplay gate."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in CI containers
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--use-fake-ui-for-media-stream",  # grant the microphone without a prompt
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=1280,1700",
        "--hide-scrollbars",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit chromedriver: Selenium Manager must not try to download one.
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_script_timeout(30)
    return browser


@pytest.fixture(scope="package")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS
