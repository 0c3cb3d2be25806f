"""The embedded Triton's private run folders, with a stand-in server binary (no tritonserver)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from voxgate import runtime, triton_auth
from voxgate.runtime import EmbeddedTriton, TritonInstall

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def install(tmp_path: Path) -> TritonInstall:
    """A fake wheel layout; the "server" prints an error line and sleeps until stopped."""
    wheel = tmp_path / "wheel"
    backend = wheel / "backends" / "python"
    backend.mkdir(parents=True)
    (backend / "libtriton_python.so").write_bytes(b"\x7fELF fake")
    (backend / "triton_python_backend_utils.py").write_text("# utils\n")
    stub = wheel / "stubs" / "triton_python_backend_stub"
    stub.parent.mkdir()
    stub.write_text("#!/bin/sh\n")
    binary = wheel / "bin" / "tritonserver"
    binary.parent.mkdir()
    binary.write_text('#!/bin/sh\necho "E0101 fake load failure"\nexec sleep 600\n')
    binary.chmod(0o755)
    return TritonInstall(binary=binary, libs=wheel / "libs", python_backend=backend, stub=stub)


@pytest.fixture
def parent(tmp_path: Path, install: TritonInstall, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(TritonInstall, "find", classmethod(lambda cls: install))
    return tmp_path / "run"


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry under `folder` with what a change would alter."""
    out = {}
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        target = os.readlink(path) if path.is_symlink() else None
        out[str(path.relative_to(folder))] = (st.st_ino, st.st_mtime_ns, target)
    return out


def run_dirs(parent: Path) -> list[Path]:
    return sorted(parent.glob(runtime.RUN_DIR_PREFIX + "*"))


async def test_two_instances_get_distinct_private_dirs(parent: Path) -> None:
    a = EmbeddedTriton(ROOT / "triton_models", "cpu", parent)
    b = EmbeddedTriton(ROOT / "triton_models", "cpu", parent)
    await a.start()
    await b.start()
    try:
        assert a.run_dir and b.run_dir and a.run_dir != b.run_dir
        assert a.run_dir.parent == parent and b.run_dir.parent == parent
        assert run_dirs(parent) == sorted([a.run_dir, b.run_dir])
        for t in (a, b):
            backends = t.run_dir / "backends"
            assert (backends / "python" / "triton_python_backend_stub").exists()
            assert (backends / "voxgate_onnx" / "model.py").is_file()
            assert t.log_path and t.log_path.parent == t.run_dir
        assert a.log_path != b.log_path
    finally:
        await a.stop()
        await b.stop()
    assert run_dirs(parent) == []


def test_prepare_backends_does_not_touch_another_instance(
    install: TritonInstall, tmp_path: Path
) -> None:
    first, fd1 = runtime.create_run_dir(tmp_path)
    second, fd2 = runtime.create_run_dir(tmp_path)
    try:
        runtime.prepare_backends(install, first)
        before = snapshot(first)
        runtime.prepare_backends(install, second)
        runtime.prepare_backends(install, second)  # a restart prepares again
        assert snapshot(first) == before
        assert snapshot(second).keys() == before.keys()
    finally:
        runtime._remove_run_dir(first, fd1)
        runtime._remove_run_dir(second, fd2)


def test_backend_library_is_a_real_file_inside_the_backend_folder(
    install: TritonInstall, tmp_path: Path
) -> None:
    """Triton 2.51 refuses a Python-based backend whose libtriton_python.so resolves
    outside --backend-directory (a symlink to the wheel does)."""
    backends = runtime.prepare_backends(install, tmp_path)
    library = backends / "python" / "libtriton_python.so"
    assert not library.is_symlink()
    assert library.resolve().is_relative_to(backends.resolve())
    assert library.read_bytes() == (install.python_backend / "libtriton_python.so").read_bytes()
    model = (backends / "voxgate_onnx" / "model.py").read_text()
    assert model == (ROOT / "triton_backends" / "voxgate_onnx" / "model.py").read_text()


def test_prepare_backends_needs_a_backend(install: TritonInstall, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        runtime.prepare_backends(install, tmp_path / "run", sources=tmp_path / "empty")


async def test_stop_removes_the_dir_and_the_server(parent: Path) -> None:
    t = EmbeddedTriton(ROOT / "triton_models", "cpu", parent)
    assert t.log_tail() == ""
    await t.start()
    run_dir = t.run_dir
    assert run_dir and run_dir.is_dir()
    proc = t._process
    assert proc and proc.returncode is None
    for _ in range(100):  # the log is written by the child
        if "fake load failure" in t.log_tail():
            break
        await asyncio.sleep(0.05)
    assert t.log_tail().startswith("E0101 fake load failure")
    await t.stop()
    assert proc.returncode is not None
    assert not run_dir.exists()
    assert t.run_dir is None and t.log_tail() == ""
    await t.stop()  # a second stop is harmless


async def test_failed_start_removes_the_dir(parent: Path, install: TritonInstall) -> None:
    t = EmbeddedTriton(ROOT / "triton_models", "cpu", parent)
    t.install = TritonInstall(
        binary=install.binary.with_name("missing"),
        libs=install.libs,
        python_backend=install.python_backend,
        stub=install.stub,
    )
    with pytest.raises(OSError):
        await t.start()
    assert run_dirs(parent) == []
    assert t.run_dir is None


def test_dirs_of_dead_owners_are_removed_live_ones_kept(tmp_path: Path) -> None:
    live, fd = runtime.create_run_dir(tmp_path)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from voxgate import runtime; "
            "print(runtime.create_run_dir(Path(sys.argv[1]))[0], flush=True); time.sleep(600)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    dead = Path(child.stdout.readline().strip())
    try:
        assert dead.is_dir()
        assert runtime.remove_stale_run_dirs(tmp_path) == []  # its owner still runs
        child.send_signal(signal.SIGKILL)  # no cleanup of its own
        child.wait(10)
        assert dead.is_dir()
        new, fd2 = runtime.create_run_dir(tmp_path)  # the next instance to start sweeps
        assert not dead.exists()
        assert live.is_dir() and new.is_dir()
        runtime._remove_run_dir(new, fd2)
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
        runtime._remove_run_dir(live, fd)


def test_interpreter_exit_removes_the_dir(tmp_path: Path, install: TritonInstall) -> None:
    """An instance never stopped: its folder is gone once the process exits."""
    parent = tmp_path / "run"
    script = textwrap.dedent(
        f"""
        import asyncio
        from pathlib import Path
        from voxgate.runtime import EmbeddedTriton, TritonInstall

        install = TritonInstall(
            binary=Path({str(install.binary)!r}), libs=Path({str(install.libs)!r}),
            python_backend=Path({str(install.python_backend)!r}), stub=Path({str(install.stub)!r}),
        )
        TritonInstall.find = classmethod(lambda cls: install)

        async def main():
            t = EmbeddedTriton(Path({str(ROOT / "triton_models")!r}), "cpu", Path({str(parent)!r}))
            await t.start()
            print("RUN_DIR", t.run_dir, flush=True)
            t._stopping = True  # no restart: the child goes, the folder is what is checked
            t._process.kill()
            await t._process.wait()

        asyncio.run(main())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    (line,) = [x for x in out.stdout.splitlines() if x.startswith("RUN_DIR ")]
    run_dir = Path(line.removeprefix("RUN_DIR "))
    assert run_dir.parent == parent
    assert not run_dir.exists()


async def test_a_dead_servers_children_are_reaped(
    parent: Path, install: TritonInstall, tmp_path: Path
) -> None:
    """Python-backend stubs outlive a crashed tritonserver unless the runtime kills them."""
    pid_file = tmp_path / "child.pid"
    install.binary.write_text(
        f"#!/bin/sh\nsleep 600 &\necho $! > {pid_file}\nsleep 0.5\nkill -SEGV $$\n"
    )
    t = EmbeddedTriton(ROOT / "triton_models", "cpu", parent)
    await t.start()
    try:
        for _ in range(100):
            if t.restarts:
                break
            await asyncio.sleep(0.05)
        assert t.restarts >= 1
        child = int(pid_file.read_text())
        for _ in range(50):
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the dead server's child process is still running")
    finally:
        await t.stop()


def test_server_dies_with_a_killed_parent(tmp_path: Path) -> None:
    """The launch prefix makes a SIGKILL of voxgate reach the server it started."""
    script = (
        "import subprocess, sys; from voxgate import runtime; "
        "p = subprocess.Popen(runtime._with_parent_death_signal(['sleep', '600'])); "
        "print(p.pid, flush=True); p.wait()"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        server = int(parent.stdout.readline())
        for _ in range(200):  # setpriv sets the signal, then execs the server: wait for that
            if Path(f"/proc/{server}/comm").read_text().strip() == "sleep":
                break
            time.sleep(0.01)
        os.kill(server, 0)  # alive while its parent is
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        for _ in range(100):
            try:
                os.kill(server, 0)
            except ProcessLookupError:
                break
            # An orphan is reparented to init, which reaps it; until then it is a zombie.
            if Path(f"/proc/{server}/stat").read_text().split()[2] == "Z":
                break
            subprocess.run(["sleep", "0.05"], check=True)
        else:
            pytest.fail("the server outlived its killed parent")
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()


async def test_triton_output_goes_to_its_file_and_the_structured_log(
    parent: Path, install, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Warnings and errors at their level in voxgate's log; info lines at debug; the file
    keeps every line for `log_tail`."""
    import structlog

    install.binary.write_text(
        "#!/bin/sh\n"
        'echo "I1122 03:10:05.123456 4242 server.cc:100] Started GRPCInferenceService"\n'
        "echo \"E1122 03:10:05.223456 4242 model_lifecycle.cc:654] failed to load 'vad'\"\n"
        'echo "not a glog line"\n'
        "exec sleep 600\n"
    )
    t = EmbeddedTriton(ROOT / "triton_models", "cpu", parent)
    with structlog.testing.capture_logs() as logs:
        # A fresh logger: the module's own may already be bound to the configured processors
        # (cache_logger_on_first_use), which capture_logs cannot intercept.
        monkeypatch.setattr(runtime, "triton_log", structlog.get_logger())
        await t.start()
        try:
            for _ in range(100):
                if "not a glog line" in t.log_tail():
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.1)
        finally:
            await t.stop()
    lines = [(e["log_level"], e.get("line")) for e in logs if e["event"] == "triton_log"]
    assert ("error", "failed to load 'vad'") in lines
    # Info lines at debug (filtered out altogether when the log level is info).
    quiet = {"Started GRPCInferenceService", "not a glog line"}
    assert all(level == "debug" for level, line in lines if line in quiet)


# -- supervision: leftovers, backoff, lock -------------------------------------------------

PARSE_PREFIX = (
    'for a in "$@"; do case "$a" in '
    "--backend-config=python,shm-region-prefix-name=*) P=${a#*=}; P=${P#*=};; esac; done\n"
)
SERVING = (
    "echo 'I1122 03:10:05.123456 4242 grpc_server.cc:2558] \"Started GRPCInferenceService\"'\n"
)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


async def _until(check, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def test_a_crashed_launch_leaves_no_process_and_no_region(
    parent: Path, install: TritonInstall, tmp_path: Path
) -> None:
    """A stub that left the server's group (its own session) is still found by the launch's
    mark; the regions named with the launch's prefix are unlinked before the restart."""
    pids = tmp_path / "pids"
    install.binary.write_text(
        "#!/bin/sh\n"
        + PARSE_PREFIX
        + ': > "/dev/shm/${P}region"\n'
        + f"setsid sleep 600 & echo $! >> {pids}\n"  # out of the group, marked
        + f"sleep 600 & echo $! >> {pids}\n"  # in the group
        + "exec sleep 600\n"
    )
    t = EmbeddedTriton(ROOT / "triton_models", "cpu", parent, restart_delay_s=0.05)
    await t.start()
    try:
        first = t.launch
        prefix = runtime.shm_prefix(runtime.run_id(t.run_dir), first.number)
        await _until(lambda: pids.exists() and len(pids.read_text().split()) == 2)
        await _until(lambda: runtime.shm_regions(prefix) == [prefix + "python-region"])
        children = [int(p) for p in pids.read_text().split()]
        # `setsid` has left the group once it has exec'd sleep
        await _until(lambda: all(_comm(p) == "sleep" for p in children))
        groups = {
            int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[2]) for p in children
        }
        assert len(groups) == 2  # one really left the server's group
        os.kill(t.pid, signal.SIGKILL)
        await _until(lambda: t.launch is not first)
        assert [p for p in children if _alive(p)] == []
        assert runtime.shm_regions(prefix) == []
        assert first.killed == 2 and first.regions == 1
        run_prefix = t.shm_prefix
        await _until(lambda: len(pids.read_text().split()) == 4)
        await _until(lambda: len(runtime.shm_regions(run_prefix)) == 1)
    finally:
        await t.stop()
    children = [int(p) for p in pids.read_text().split()]
    assert [p for p in children if _alive(p)] == []
    assert runtime.shm_regions(run_prefix) == []


async def test_backoff_grows_for_quick_deaths_and_resets_once_served(
    parent: Path, install: TritonInstall, tmp_path: Path
) -> None:
    count = tmp_path / "launches"
    install.binary.write_text(
        "#!/bin/sh\n"
        f"n=$(cat {count} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {count}\n"
        'if [ "$n" -ge 4 ]; then\n' + SERVING + "sleep 0.3; fi\n"
        "exit 3\n"
    )
    t = EmbeddedTriton(ROOT / "triton_models", "cpu", parent, restart_delay_s=0.05)
    await t.start()
    try:
        await _until(lambda: len(t.restart_delays) >= 5, 20.0)
    finally:
        await t.stop()
    # Three launches died before serving: 0.1, 0.2, 0.4; then served ones: the base delay.
    assert t.restart_delays[:5] == [0.1, 0.2, 0.4, 0.05, 0.05]
    assert [launch.served_at is not None for launch in t.history[:5]] == [False] * 3 + [True] * 2


async def test_the_server_is_locked_and_private(
    parent: Path, install: TritonInstall, tmp_path: Path
) -> None:
    seen = tmp_path / "seen"
    install.binary.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > {seen}\numask >> {seen}\nexec sleep 600\n'
    )
    t = EmbeddedTriton(ROOT / "triton_models", "cpu", parent)
    url = t.url
    assert url.startswith("unix:")
    await t.start()
    try:
        assert t.url == url  # known before start (a façade may be built on it first)
        await _until(lambda: seen.exists() and len(seen.read_text().splitlines()) > 3)
        lines = seen.read_text().splitlines()
        assert lines[-1] == "0077"
        run = runtime.run_id(t.run_dir)
        assert f"--grpc-address=unix:{t.run_dir}/grpc" in lines and "--grpc-port=1" in lines
        restricted = [x for x in lines if x.startswith("--grpc-restricted-protocol=")]
        assert restricted == [
            "--grpc-restricted-protocol="
            + ",".join(runtime.RESTRICTED_PROTOCOLS)
            + f":{runtime.AUTH_KEY}={t.secret}"
        ]
        assert len(t.secret) >= 32 and t.headers == {runtime.AUTH_HEADER: t.secret}
        assert "--allow-http=false" in lines and "--metrics-address=127.0.0.1" in lines
        assert sorted(x for x in lines if x.startswith("--backend-config=")) == [
            f"--backend-config={b},shm-region-prefix-name=voxgate-{run}-1-{b}-"
            for b in ("python", "voxgate_onnx")
        ]
        assert (t.run_dir.stat().st_mode & 0o777) == 0o700
        assert triton_auth.headers_for(t.url) == t.headers
    finally:
        await t.stop()
    assert triton_auth.headers_for(url) == {}


def test_a_socket_path_too_long_falls_back_to_loopback_tcp(parent: Path) -> None:
    t = EmbeddedTriton(ROOT / "triton_models", "cpu", parent / ("x" * 120))
    assert t.url == f"127.0.0.1:{t.grpc_port}"


async def test_regions_are_made_private_as_they_appear() -> None:
    """Boost creates a region, then fchmods it to 0644; the guard takes that back."""
    prefix = f"voxgate-test{os.getpid()}-"
    guard = runtime.ShmGuard(prefix)
    guard.start()
    path = runtime.SHM_DIR / (prefix + "region")
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
        os.fchmod(fd, 0o644)
        os.close(fd)
        await _until(lambda: (path.stat().st_mode & 0o777) == 0o600, 2.0)
        assert guard.fixed >= 1
    finally:
        guard.stop()
        path.unlink(missing_ok=True)


def test_a_dead_owners_processes_and_regions_are_removed_with_its_dir(tmp_path: Path) -> None:
    script = (
        "import os, subprocess, sys, time; from pathlib import Path; from voxgate import runtime\n"
        "path, fd = runtime.create_run_dir(Path(sys.argv[1]))\n"
        "run = runtime.run_id(path)\n"
        "open(f'/dev/shm/voxgate-{run}-1-python-x', 'w').close()\n"
        "env = dict(os.environ, VOXGATE_TRITON_RUN=f'{run}-1')\n"
        "child = subprocess.Popen(['sleep', '600'], env=env, start_new_session=True)\n"
        "print(run, child.pid, flush=True); time.sleep(600)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        run, pid = owner.stdout.readline().split()
        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
        assert _alive(int(pid)) and runtime.shm_regions(f"voxgate-{run}-")
        new, fd = runtime.create_run_dir(tmp_path)  # sweeps the dead owner's run
        try:
            for _ in range(100):
                if not _alive(int(pid)):
                    break
                time.sleep(0.02)
            assert not _alive(int(pid))
            assert runtime.shm_regions(f"voxgate-{run}-") == []
        finally:
            runtime._remove_run_dir(new, fd)
    finally:
        owner.kill()
        owner.wait()
        owner.stdout.close()
        with contextlib.suppress(Exception):
            os.kill(int(pid), signal.SIGKILL)
        for name in runtime.shm_regions(f"voxgate-{run}-"):
            (runtime.SHM_DIR / name).unlink(missing_ok=True)


def test_triton_header_setting() -> None:
    assert triton_auth.parse_header("") == {}
    assert triton_auth.parse_header("Triton-GRPC-Protocol-K=v=1") == {
        "triton-grpc-protocol-k": "v=1"
    }
    with pytest.raises(ValueError):
        triton_auth.parse_header("novalue")


def test_unix_socket_endpoints() -> None:
    from voxgate.replicas import parse_endpoints, resolve

    url = "unix:/run/a/grpc:1, 127.0.0.1:8001,unix:/run/b/grpc:1"
    endpoints = parse_endpoints(url)
    assert endpoints == [("unix:/run/a/grpc:1", 0), ("127.0.0.1", 8001), ("unix:/run/b/grpc:1", 0)]
    assert resolve(endpoints) == ["unix:/run/a/grpc:1", "127.0.0.1:8001", "unix:/run/b/grpc:1"]
