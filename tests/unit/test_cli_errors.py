"""The `voxgate` command's user errors: one line on stderr and a distinct exit status, no
traceback (no server needed: nothing listens on the addresses used here)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from voxgate.cli import main
from voxgate.cli_errors import Exit

NOWHERE = "127.0.0.1:1"  # a port nothing listens on


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (("tokenize", "missing.wav"), Exit.NO_INPUT, "missing.wav: no such file"),
        (("detokenize", "missing.txt", "-o", "x.wav"), Exit.NO_INPUT, "no such file"),
        (("synthesize", "hi", "--prompt", "p.wav"), Exit.USAGE, "--prompt needs --prompt-text"),
        (("chat", "--audio", "missing.wav"), Exit.NO_INPUT, "missing.wav: no such file"),
        (
            ("voices", "create", "missing.wav", "--transcript", "t", "--name", "n"),
            Exit.NO_INPUT,
            "no such file",
        ),
        (("info",), Exit.UNREACHABLE, f"no voxgate server at {NOWHERE} (connection refused)"),
        (("health",), Exit.UNREACHABLE, "start one with `make serve`"),
        (("synthesize", "hi"), Exit.UNREACHABLE, "--address HOST:PORT or VOXGATE_ADDR"),
    ],
)
def test_user_errors_are_one_line_with_their_own_status(
    capsys, tmp_path, monkeypatch, argv, code, says
):
    monkeypatch.chdir(tmp_path)
    got, out, err = _run(capsys, *argv, "--address", NOWHERE)
    assert got == code
    assert err.startswith("voxgate: ") and says in err and err.count("\n") == 1, err
    assert out == ""


def test_ids_that_are_not_numbers_name_the_bad_token(capsys, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("12, 7 x9 4")
    got, _, err = _run(capsys, "detokenize", str(ids), "-o", "x.wav", "--address", NOWHERE)
    assert got == Exit.BAD_INPUT and "token 3 is 'x9', not an integer id" in err
    ids.write_text("  \n")
    got, _, err = _run(capsys, "detokenize", str(ids), "-o", "x.wav", "--address", NOWHERE)
    assert got == Exit.BAD_INPUT and "no token ids in it" in err


def test_a_folder_is_its_audio_files_and_an_empty_one_fails_alone(capsys, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    got, _, err = _run(capsys, "tokenize", str(empty), "--address", NOWHERE)
    assert got == Exit.NO_INPUT and "a folder with no audio files in it" in err
    (tmp_path / "notes.txt").write_text("not audio")
    (tmp_path / "a.wav").write_bytes(b"x")
    # The folder holds one audio file (notes.txt is skipped): it is tried, and the server is
    # not there, which stops the batch at once with that status.
    got, _, err = _run(capsys, "tokenize", str(tmp_path), "--address", NOWHERE)
    assert got == Exit.UNREACHABLE and err.count("\n") == 1


def test_serve_on_a_taken_port_says_so_without_starting_triton(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "voxgate.cli",
                "serve",
                "--port",
                str(port),
                "--metrics-port",
                "0",
                "--run-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == Exit.PORT_IN_USE, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        f"voxgate: cannot listen on 127.0.0.1:{port}: the port is in use; pick another with "
        "--port N or VOXGATE_PORT=N (make serve PORT=N), or stop what holds it"
    )
    assert "Traceback" not in done.stderr and "tritonserver" not in done.stderr
    assert not list(tmp_path.glob("voxgate-*"))  # no Triton run folder was made


def test_help_lists_the_exit_statuses(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "8 port in use" in capsys.readouterr().out.replace("\n", " ")


def test_models_build_passes_its_options_to_the_build(capsys, tmp_path):
    # --only needs an existing build: the build's own refusal shows the options reached it.
    code = main(["models", "build", "--only", "speaker_adapter", "--out", str(tmp_path)])
    assert code == 2
    assert "reference_manifest.json missing: run a full build first" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["models", "build", "--", "--help"])
    assert exc.value.code == 0
    assert "--reduced" in capsys.readouterr().out
