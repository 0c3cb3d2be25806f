"""The `voxgate` command: serve, with-server, tokenize, detokenize, info, models build."""

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


def _serve(args: argparse.Namespace) -> int:
    settings = config.from_sources(args, os.environ)
    logs.configure(settings.log_level, settings.log_json)
    from voxgate.server import serve

    asyncio.run(serve(settings))
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


def _client(args: argparse.Namespace):
    from voxgate.client import VoxgateClient

    return VoxgateClient(args.address, timeout_s=args.timeout, wait_for_ready=False)


def _tokenize(args: argparse.Namespace) -> int:
    with _client(args) as client:
        for path in args.files:
            response = client.tokenize_file(path, include_text=args.text)
            if args.json:
                body = MessageToDict(response, preserving_proto_field_name=True)
                print(json.dumps({"file": str(path), **body}))
            else:
                t = response.tokens
                print(f"# {path}: {t.group_count} groups, {response.audio_duration_seconds:.2f} s")
                print(t.text if args.text else " ".join(map(str, t.interleaved)))
    return 0


def _detokenize(args: argparse.Namespace) -> int:
    text = Path(args.input).read_text() if args.input != "-" else sys.stdin.read()
    ids = [int(x) for x in text.replace(",", " ").split()]
    with _client(args) as client:
        response = client.detokenize(ids)
    Path(args.output).write_bytes(response.audio.data)
    print(f"wrote {args.output}: {response.audio.duration_seconds:.2f} s")
    return 0


def _info(args: argparse.Namespace) -> int:
    with _client(args) as client:
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
            print("voxgate synthesize: --prompt needs --prompt-text", file=sys.stderr)
            return 2
        request.prompt.audio.container = Path(args.prompt).read_bytes()
        request.prompt.transcript = args.prompt_text
    request.output_format.container = audio_pb2.AUDIO_CONTAINER_WAV
    with _client(args) as client:
        data, pieces = client.synthesize_to_wav(request)
    report = pieces[0].report
    Path(args.output).write_bytes(data)
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
        output.write_bytes(turn.audio)
        print(f"wrote {output}: {end.audio_seconds:.2f} s")
    lat = end.latency
    print(
        f"  latency: transcript {lat.transcript_ms} ms, first text {lat.first_text_ms} ms, "
        f"first audio {lat.first_audio_ms} ms; {end.reply_tokens} tokens",
        file=sys.stderr,
    )


def _chat(args: argparse.Namespace) -> int:
    with _client(args) as client, client.chat(_chat_config(args)) as session:
        if args.audio:
            data = Path(args.audio).read_bytes()
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
    with _client(args) as client:
        if args.voices_command == "create":
            voice = client.create_voice(
                Path(args.audio).read_bytes(),
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


def _models_build(args: argparse.Namespace) -> int:
    from voxgate.reference.build import main as build_main

    return build_main(args.build_args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="voxgate", description=__doc__)
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

    tok = sub.add_parser("tokenize", help="print the tokens of audio files")
    tok.add_argument("files", nargs="+", type=Path)
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

    models = sub.add_parser("models", help="reference model tools")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    build = models_sub.add_parser("build", help="build the reference models (see --help)")
    build.add_argument("build_args", nargs=argparse.REMAINDER)
    build.set_defaults(run=_models_build)

    args = parser.parse_args(argv)
    if args.command != "serve":
        logs.configure("warning")
    try:
        return args.run(args)
    except Exception as err:  # the CLI prints client errors plainly
        from voxgate.client import VoxgateClientError

        if isinstance(err, VoxgateClientError):
            print(f"voxgate: {err}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
