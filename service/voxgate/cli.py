"""The `voxgate` command: serve, with-server, health, tokenize, detokenize, info, synthesize,
chat, voices, models build."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from google.protobuf.json_format import MessageToDict

from voxgate import config, logs
from voxgate.cli_errors import EXIT_CODES_HELP, Exit, UserError, from_rpc, read_input, write_output


def _serve(args: argparse.Namespace) -> int:
    try:
        settings = config.from_sources(args, os.environ)
    except ValueError as err:  # SettingsError, or a flag value of the wrong type
        raise UserError(str(err), Exit.USAGE) from None
    logs.configure(settings.log_level, settings.log_json)
    from voxgate.server import PortInUse, serve

    try:
        asyncio.run(serve(settings))
    except config.SettingsError as err:
        raise UserError(str(err), Exit.USAGE) from None
    except PortInUse as err:
        raise UserError(
            f"{err}; pick another with --port N or VOXGATE_PORT=N (make serve PORT=N), "
            "or stop what holds it",
            Exit.PORT_IN_USE,
        ) from None
    return 0


# `voxgate with-server`: exit statuses of its own (otherwise it exits with COMMAND's status).
WITH_SERVER_START_FAILED = 125  # the server did not become ready (as `timeout`/`env` use it)
WITH_SERVER_NOT_FOUND = 127  # COMMAND could not be run


def _with_server(args: argparse.Namespace) -> int:
    """Runs COMMAND with VOXGATE_ADDR set: a fresh local server's address, or the one given."""
    command = args.command_args
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        print(
            "voxgate with-server: no COMMAND (usage: voxgate with-server [options] -- COMMAND)",
            file=sys.stderr,
        )
        return 2
    if os.environ.get("VOXGATE_ADDR"):  # a server is already there: use it
        return _run_forwarding_signals(command, dict(os.environ))
    if args.ready_file is not None:
        print(
            "voxgate with-server: --ready-file is the launcher's own; leave it out", file=sys.stderr
        )
        return 2

    from voxgate.launcher import ServerStartError, local_server

    def stop_on_signal(signum: int, _frame: object) -> None:  # clean up while starting up
        raise SystemExit(128 + signum)

    previous = {s: signal.signal(s, stop_on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with local_server(*_serve_argv(args), start_timeout_s=args.start_timeout) as server:
            print(
                f"voxgate with-server: voxgate serving at {server.address} (pid {server.pid})",
                file=sys.stderr,
                flush=True,
            )
            code = _run_forwarding_signals(command, {**os.environ, "VOXGATE_ADDR": server.address})
    except ServerStartError as err:
        print(f"voxgate with-server: {err}", file=sys.stderr)
        return WITH_SERVER_START_FAILED
    except KeyboardInterrupt:  # Ctrl-C while the server was starting (it has been stopped)
        return 128 + signal.SIGINT
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if not server.stopped_cleanly:
        if server.exited_early:
            what = f"exited during the command (status {server.returncode})"
        elif server.killed:
            what = f"did not stop within {server.stop_grace_s:g} s of SIGTERM and was killed"
        else:
            what = f"stopped with status {server.returncode}"
        print(
            f"voxgate with-server: the server {what}; its log (last lines):\n{server.log_tail()}",
            file=sys.stderr,
        )
        code = code or 1
    return code


def _serve_argv(args: argparse.Namespace) -> list[str]:
    """The `voxgate serve` options given to with-server, as argv again."""
    argv = []
    for f in fields(config.Settings):
        value = getattr(args, f.name, None)
        flag = "--" + f.name.replace("_", "-")
        if value is None:
            continue
        if isinstance(value, bool):
            argv.append(flag if value else "--no-" + flag[2:])
        else:
            argv.append(f"{flag}={value}")
    return argv


def _run_forwarding_signals(command: list[str], env: dict[str, str]) -> int:
    """Runs COMMAND; SIGTERM/SIGHUP sent to us go on to it. Returns its exit status."""
    try:
        proc = subprocess.Popen(command, env=env)
    except OSError as err:
        print(f"voxgate with-server: cannot run {command[0]}: {err}", file=sys.stderr)
        return WITH_SERVER_NOT_FOUND

    def forward(signum: int, _frame: object) -> None:
        if proc.poll() is None:
            proc.send_signal(signum)

    # Ctrl-C reaches COMMAND from the terminal itself (same process group): no second SIGINT.
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN)}
    previous.update({s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGHUP)})
    try:
        code = proc.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 128 - code if code < 0 else code  # killed by signal N: 128 + N, as shells report


class _Client:
    """The blocking client, whose failed calls become UserErrors naming the address."""

    def __init__(self, args: argparse.Namespace) -> None:
        from voxgate.client import TlsOptions, VoxgateClient

        env = os.environ
        ca, cert, key = (
            getattr(args, f"tls_{name}", None) or env.get(f"VOXGATE_TLS_{name.upper()}")
            for name in ("ca", "cert", "key")
        )
        use_tls = getattr(args, "tls", False) or ca or cert or env.get("VOXGATE_TLS") == "1"
        tls = None
        if use_tls:
            tls = TlsOptions(*(Path(p) if p else None for p in (ca, cert, key)))
            for path in filter(None, (tls.ca, tls.cert, tls.key)):
                read_input(path)  # a missing file: one line, before connecting
        token = None
        if getattr(args, "token_file", None):
            token = read_input(Path(args.token_file)).decode().strip()
        self._client = VoxgateClient(
            args.address, timeout_s=args.timeout, wait_for_ready=False, tls=tls, token=token
        )
        self.address = self._client.address

    def __enter__(self):
        return self._client

    def __exit__(self, kind, err, tb) -> None:
        from voxgate.client import VoxgateClientError

        self._client.close()
        if isinstance(err, VoxgateClientError):
            raise from_rpc(err.code, err.message, self.address) from None


def _tokenize(args: argparse.Namespace) -> int:
    from voxgate.batch import emit, expand_inputs, run_ordered
    from voxgate.client import VoxgateClientError

    paths = expand_inputs(args.files)
    with _Client(args) as client:

        def tokenize(path: Path):
            if path.is_dir():  # expand_inputs found no audio in it
                raise UserError(f"{path}: a folder with no audio files in it", Exit.NO_INPUT)
            data = read_input(path)
            try:
                return client.tokenize(data, include_text=args.text)
            except VoxgateClientError as err:
                raise from_rpc(err.code, err.message, client.address) from None

        failed = []
        for outcome in run_ordered(paths, tokenize, args.jobs):
            path, response = outcome.item, outcome.result
            if outcome.error is not None:
                failed.append(outcome)
                if args.json:
                    error = {"kind": outcome.error.code.name, "message": str(outcome.error)}
                    emit(json.dumps({"file": str(path), "error": error}))
            elif args.json:
                body = MessageToDict(response, preserving_proto_field_name=True)
                emit(json.dumps({"file": str(path), **body}))
            else:
                t = response.tokens
                emit(f"# {path}: {t.group_count} groups, {response.audio_duration_seconds:.2f} s")
                emit(t.text if args.text else " ".join(map(str, t.interleaved)))
    return _batch_summary("tokenize", len(paths), failed)


def _batch_summary(command: str, total: int, failed: list) -> int:
    """Prints the failures (one line each) and a count; the exit status of the batch."""
    if not failed:
        if total > 1:
            print(f"voxgate {command}: {total} done", file=sys.stderr)
        return Exit.OK
    if total == 1:  # a single input: its own error and exit status
        raise failed[0].error
    print(f"voxgate {command}: {total - len(failed)} done, {len(failed)} failed:", file=sys.stderr)
    for outcome in failed:
        print(f"  {outcome.error}", file=sys.stderr)
    return Exit.SOME_FAILED


def _read_ids(source: str) -> list[int]:
    text = (
        sys.stdin.read() if source == "-" else read_input(Path(source)).decode("utf-8", "replace")
    )
    ids = []
    for at, word in enumerate(text.replace(",", " ").split()):
        try:
            ids.append(int(word))
        except ValueError:
            raise UserError(
                f"{source}: token {at + 1} is {word[:20]!r}, not an integer id "
                "(expected ids separated by spaces or commas, as `voxgate tokenize` prints)",
                Exit.BAD_INPUT,
            ) from None
    if not ids:
        raise UserError(f"{source}: no token ids in it", Exit.BAD_INPUT)
    return ids


def _detokenize(args: argparse.Namespace) -> int:
    ids = _read_ids(args.input)
    with _Client(args) as client:
        response = client.detokenize(ids)
    write_output(Path(args.output), response.audio.data)
    print(f"wrote {args.output}: {response.audio.duration_seconds:.2f} s")
    return 0


def _health(args: argparse.Namespace) -> int:
    """Asks the standard grpc.health.v1 service; waits for SERVING with --wait."""
    import time

    from voxgate.client import VoxgateClientError

    deadline = time.monotonic() + args.wait
    with _Client(args) as client:
        while True:
            try:
                status = client.health(args.service)
            except VoxgateClientError as err:
                if time.monotonic() >= deadline or err.code.name == "NOT_FOUND":
                    raise
                status = None
            if status == "SERVING" or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
    name = args.service or "server"
    print(f"{client.address} {name}: {status}")
    return Exit.OK if status == "SERVING" else Exit.NOT_SERVING


def _info(args: argparse.Namespace) -> int:
    with _Client(args) as client:
        info = client.server_info()
    print(json.dumps(MessageToDict(info, preserving_proto_field_name=True), indent=2))
    return 0


def _synthesize(args: argparse.Namespace) -> int:
    from voxgate.v1 import audio_pb2, synthesis_pb2

    request = synthesis_pb2.SynthesizeRequest(
        text=args.text, voice=args.voice or "", style_instruction=args.style or ""
    )
    if args.prompt:
        if not args.prompt_text:
            raise UserError("synthesize: --prompt needs --prompt-text", Exit.USAGE)
        request.prompt.audio.container = read_input(Path(args.prompt))
        request.prompt.transcript = args.prompt_text
    request.output_format.container = audio_pb2.AUDIO_CONTAINER_WAV
    with _Client(args) as client:
        data, pieces = client.synthesize_to_wav(request)
    report = pieces[0].report
    write_output(Path(args.output), data)
    print(f"wrote {args.output}: {pieces[-1].audio.duration_seconds:.2f} s, voice {report.voice}")
    for item in report.not_applied:
        print(f"  not applied: {item}", file=sys.stderr)
    return 0


def _chat_config(args: argparse.Namespace):
    from voxgate.v1 import audio_pb2, chat_pb2

    config = chat_pb2.ChatConfig(
        system_prompt=args.system or "",
        voice=args.voice or "",
        text_only=args.text_only,
        max_reply_tokens=args.max_tokens,
        output_format=audio_pb2.OutputAudioFormat(container=audio_pb2.AUDIO_CONTAINER_WAV),
    )
    if args.temperature is not None:
        config.temperature = args.temperature
    if args.seed is not None:
        config.seed = args.seed
    if args.audio:  # one spoken turn: the file as it is, ended by end_of_turn
        config.input_format.container = audio_pb2.AUDIO_CONTAINER_WAV
        config.turn_detection.mode = chat_pb2.TURN_DETECTION_MODE_MANUAL
    return config


def _print_turn(turn, output: Path | None) -> None:
    end = turn.end
    if turn.transcript:
        print(f"you said: {turn.transcript}")
    print(f"assistant: {end.text}")
    if output is not None and turn.audio:
        write_output(output, turn.audio)
        print(f"wrote {output}: {end.audio_seconds:.2f} s")
    lat = end.latency
    print(
        f"  latency: transcript {lat.transcript_ms} ms, first text {lat.first_text_ms} ms, "
        f"first audio {lat.first_audio_ms} ms; {end.reply_tokens} tokens",
        file=sys.stderr,
    )


def _chat(args: argparse.Namespace) -> int:
    with _Client(args) as client, client.chat(_chat_config(args)) as session:
        if args.audio:
            data = read_input(Path(args.audio))
            for at in range(0, len(data), 32768):
                session.send_audio(data[at : at + 32768])
            session.end_turn()
            session.close_send()
            _print_turn(session.next_turn(), None if args.text_only else Path(args.output))
            return 0
        # A text REPL: each line is a turn; reply N's audio goes to <stem>-N.wav.
        out = Path(args.output)
        index = 0
        for line in sys.stdin:
            if not line.strip():
                continue
            session.send_text(line.strip())
            path = None if args.text_only else out.with_name(f"{out.stem}-{index}{out.suffix}")
            _print_turn(session.next_turn(), path)
            index += 1
        session.close_send()
    return 0


def _voices(args: argparse.Namespace) -> int:
    with _Client(args) as client:
        if args.voices_command == "create":
            voice = client.create_voice(
                read_input(Path(args.audio)),
                args.transcript,
                args.name,
                args.consent or "",
                args.keep_audio,
            )
            print(voice.id)
        elif args.voices_command == "delete":
            client.delete_voice(args.voice_id)
            print(f"deleted {args.voice_id}")
        else:
            for v in client.list_voices():
                kind = "built-in" if v.builtin else f"{v.prompt_seconds:.1f} s prompt"
                print(f"{v.id}\t{v.name}\t{kind}\t{v.pitch_median_hz:.0f} Hz")
    return 0


def _auth_token(args: argparse.Namespace) -> int:
    """Prints a new token (stderr, once) and its tokens-file line (stdout, to append)."""
    from voxgate import auth

    if not auth.TENANT_NAME.match(args.tenant):
        raise UserError(f"tenant {args.tenant!r}: use 1-64 of A-Z a-z 0-9 . _ @ -", Exit.USAGE)
    token = auth.new_token()
    services = f" {','.join(args.services)}" if args.services else ""
    print(f"{args.tenant} {auth.digest(token)}{services}")
    print(f"token for {args.tenant} (shown once; give it to the client): {token}", file=sys.stderr)
    return 0


def _models_build(args: argparse.Namespace) -> int:
    from voxgate.reference.build import main as build_main

    rest = args.build_args
    return build_main(rest[1:] if rest[:1] == ["--"] else rest)


def _models_convert(args: argparse.Namespace) -> int:
    from voxgate.step_audio.convert import OutputError, convert
    from voxgate.step_audio.sources import SourceError

    try:
        manifest = convert(
            args.tokenizer_dir, args.output, args.tts_dir, args.speaker_wav, args.force
        )
    except SourceError as err:
        raise UserError(str(err), Exit.BAD_INPUT) from None
    except OutputError as err:
        raise UserError(str(err), Exit.CANNOT_WRITE) from None
    models = sorted({f.split("/")[0] for f in manifest["files"]})
    print(f"wrote {args.output}: step-audio profile ({', '.join(models)})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="voxgate", description=__doc__, epilog=EXIT_CODES_HELP)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gRPC service (embedded Triton by default)")
    config.add_arguments(serve)
    serve.set_defaults(run=_serve)

    with_server = sub.add_parser(
        "with-server",
        help="run a command against a fresh local voxgate (its address in $VOXGATE_ADDR)",
        description="Starts `voxgate serve --port 0` (plus the serve options given here), waits "
        "until it is SERVING, runs COMMAND with VOXGATE_ADDR=host:port in its environment, "
        "stops the server and exits with COMMAND's status (125: the server did not start; "
        "1 if COMMAND succeeded but the server died or had to be killed, with its log on "
        "stderr). With VOXGATE_ADDR already set it just runs COMMAND against that server.",
        usage="voxgate with-server [--start-timeout S] [serve options] -- COMMAND [ARGS ...]",
    )
    with_server.add_argument(
        "--start-timeout",
        type=float,
        default=float(os.environ.get("VOXGATE_START_TIMEOUT") or 180.0),
        metavar="S",
        help="seconds to wait for the server to be ready (default $VOXGATE_START_TIMEOUT or 180)",
    )
    config.add_arguments(with_server)
    with_server.add_argument(
        "command_args", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS ...]"
    )
    with_server.set_defaults(run=_with_server)

    def client_args(p: argparse.ArgumentParser, nested: bool = False) -> None:
        # A nested subcommand's own defaults must not override what its parent parsed.
        p.add_argument(
            "--address",
            default=argparse.SUPPRESS if nested else None,
            help="host:port (default $VOXGATE_ADDR or 127.0.0.1:50051)",
        )
        p.add_argument(
            "--timeout",
            type=float,
            default=argparse.SUPPRESS if nested else 120.0,
            help="deadline in seconds",
        )
        off = argparse.SUPPRESS if nested else None
        p.add_argument(
            "--tls",
            action="store_true",
            default=argparse.SUPPRESS if nested else False,
            help="TLS with the system's CAs (on by itself with --tls-ca/--tls-cert; "
            "$VOXGATE_TLS=1)",
        )
        p.add_argument("--tls-ca", default=off, help="CA to trust (PEM; $VOXGATE_TLS_CA)")
        p.add_argument(
            "--tls-cert", default=off, help="client certificate for mTLS (PEM; $VOXGATE_TLS_CERT)"
        )
        p.add_argument("--tls-key", default=off, help="its private key (PEM; $VOXGATE_TLS_KEY)")
        p.add_argument(
            "--token-file",
            default=off,
            help="file holding a bearer token (default: $VOXGATE_TOKEN, if set)",
        )

    health = sub.add_parser(
        "health",
        help="is the server SERVING? (grpc.health.v1; exit 0 if so, 9 if not)",
    )
    health.add_argument("--service", default="", help="one service, e.g. voxgate.v1.ChatService")
    health.add_argument(
        "--wait", type=float, default=0.0, metavar="S", help="wait up to S seconds for SERVING"
    )
    client_args(health)
    health.set_defaults(run=_health)

    tok = sub.add_parser(
        "tokenize",
        help="print the tokens of audio files (folders: the audio files in them)",
        description="Tokenizes each file (a folder stands for the audio files under it), "
        "several at a time (-j), printing results in input order. A file that fails is "
        "reported and the batch goes on; a summary on stderr ends a batch (exit 1 if any "
        "failed). A progress bar shows on a terminal only.",
    )
    tok.add_argument("files", nargs="+", type=Path)
    tok.add_argument("-j", "--jobs", type=int, default=4, help="files in flight at once")
    tok.add_argument("--text", action="store_true", help="print the <audio_N> text form")
    tok.add_argument("--json", action="store_true", help="one JSON object per file")
    client_args(tok)
    tok.set_defaults(run=_tokenize)

    detok = sub.add_parser("detokenize", help="turn interleaved ids into a WAV file")
    detok.add_argument("input", help="file of ids separated by spaces/commas, or - for stdin")
    detok.add_argument("-o", "--output", required=True)
    client_args(detok)
    detok.set_defaults(run=_detokenize)

    info = sub.add_parser("info", help="print the server's models, token spec and limits")
    client_args(info)
    info.set_defaults(run=_info)

    synth = sub.add_parser("synthesize", help="speak text into a WAV file")
    synth.add_argument("text")
    synth.add_argument("-o", "--output", default="out.wav", help="WAV file to write")
    synth.add_argument("--voice", help="a built-in voice or a registered voice's id")
    synth.add_argument("--prompt", help="a recording of the voice to clone (with --prompt-text)")
    synth.add_argument("--prompt-text", help="what the --prompt recording says")
    synth.add_argument("--style", help='e.g. "slowly and happily", "(高兴1)(慢速1)"')
    client_args(synth)
    synth.set_defaults(run=_synthesize)

    chat = sub.add_parser(
        "chat", help="talk with the assistant: a text REPL on stdin, or one spoken turn (--audio)"
    )
    chat.add_argument("--audio", help="a WAV file to send as one spoken turn")
    chat.add_argument(
        "-o", "--output", default="reply.wav", help="reply WAV (REPL: reply-0.wav, reply-1.wav…)"
    )
    chat.add_argument("--system", help="system prompt")
    chat.add_argument("--voice", help="voice of the spoken reply")
    chat.add_argument("--text-only", action="store_true", help="no reply audio")
    chat.add_argument("--max-tokens", type=int, default=0, help="most tokens per reply")
    chat.add_argument("--temperature", type=float, help="0 = greedy; default: the server's")
    chat.add_argument("--seed", type=int, help="sampling seed, for reproducible replies")
    client_args(chat)
    chat.set_defaults(run=_chat)

    voices = sub.add_parser("voices", help="list, create or delete voices")
    voices_sub = voices.add_subparsers(dest="voices_command")
    client_args(voices_sub.add_parser("list", help="built-in and registered voices"), True)
    create = voices_sub.add_parser("create", help="register a cloned voice; prints its id")
    client_args(create, True)
    create.add_argument("audio", help="the prompt recording (WAV/FLAC/OGG/MP3)")
    create.add_argument("--transcript", required=True, help="what the recording says")
    create.add_argument("--name", required=True)
    create.add_argument("--consent", help="who agreed to the cloning, and how")
    create.add_argument("--keep-audio", action="store_true", help="also store the recording")
    delete = voices_sub.add_parser("delete", help="delete a registered voice")
    delete.add_argument("voice_id")
    client_args(delete, True)
    client_args(voices)
    voices.set_defaults(run=_voices)

    auth_cmd = sub.add_parser("auth", help="bearer-token tools")
    auth_sub = auth_cmd.add_subparsers(dest="auth_command", required=True)
    token = auth_sub.add_parser(
        "token",
        help="make a token for a tenant: its tokens-file line on stdout, the token on stderr",
        description="Example: voxgate auth token acme >> tokens.txt (then voxgate serve "
        "--auth-tokens-file tokens.txt); only the token's SHA-256 is stored.",
    )
    token.add_argument("tenant")
    token.add_argument(
        "--services", nargs="+", metavar="SERVICE", help="allow only these, e.g. TokenizerService"
    )
    token.set_defaults(run=_auth_token)

    models = sub.add_parser("models", help="build the reference models, convert Step-Audio's")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    build = models_sub.add_parser("build", help="build the reference models (see --help)")
    build.add_argument("build_args", nargs=argparse.REMAINDER)
    build.set_defaults(run=_models_build)
    convert = models_sub.add_parser(
        "convert",
        help="convert Step-Audio's artifacts into a Triton repository (docs/step-audio.md)",
    )
    convert_sub = convert.add_subparsers(dest="convert_profile", required=True)
    step = convert_sub.add_parser(
        "step-audio",
        help="Step-Audio-Tokenizer (+ Step-Audio-TTS-3B decoder) -> the step-audio profile",
        description="Checks the source files, then writes OUT: tokenize and, with --tts-dir "
        "(which voxgate's TokenizerService needs), detokenize at 22050 Hz, with CPU and GPU "
        "configs (serve with --model-repository OUT; --model-config-name cpu or gpu). "
        "Missing or malformed sources exit 4, an OUT that "
        "cannot be written 5. Files expected: docs/step-audio.md.",
    )
    step.add_argument("tokenizer_dir", type=Path, help="the Step-Audio-Tokenizer folder")
    step.add_argument("-o", "--output", type=Path, required=True, help="repository to write")
    step.add_argument("--tts-dir", type=Path, help="the Step-Audio-TTS-3B folder (decoder)")
    step.add_argument(
        "--speaker-wav", type=Path, help="the default speaker's recording (else a neutral one)"
    )
    step.add_argument("--force", action="store_true", help="replace a non-empty OUT")
    step.set_defaults(run=_models_convert)

    from voxgate.demo import add_parser as add_demo_parser  # `voxgate demo` (browser demo)

    add_demo_parser(sub)

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["models", "build"] and argv[2:3] != ["--"]:
        # argparse.REMAINDER takes nothing that starts with "-" right after a sub-command,
        # so `voxgate models build --reduced` would be refused without this separator.
        argv = [*argv[:2], "--", *argv[2:]]
    args = parser.parse_args(argv)
    if args.command != "serve":
        logs.configure("warning")
    try:
        code = int(args.run(args))
        sys.stdout.flush()  # here, not at exit, so a closed pipe is caught below
        return code
    except UserError as err:
        print(f"voxgate: {err}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        print("voxgate: interrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    except BrokenPipeError:  # `voxgate info | head`: the reader is gone, so is our output
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return Exit.BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
