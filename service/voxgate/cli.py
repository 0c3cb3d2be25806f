"""The `voxgate` command: serve, tokenize, detokenize, info, models build."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from google.protobuf.json_format import MessageToDict

from voxgate import config, logs


def _serve(args: argparse.Namespace) -> int:
    settings = config.from_sources(args, os.environ)
    logs.configure(settings.log_level, settings.log_json)
    from voxgate.server import serve

    asyncio.run(serve(settings))
    return 0


def _client(args: argparse.Namespace):
    from voxgate.client import VoxgateClient

    return VoxgateClient(args.address, timeout_s=args.timeout)


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


def _models_build(args: argparse.Namespace) -> int:
    from voxgate.reference.build import main as build_main

    return build_main(args.build_args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="voxgate", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gRPC service (embedded Triton by default)")
    config.add_arguments(serve)
    serve.set_defaults(run=_serve)

    def client_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--address", default=None, help="host:port (default $VOXGATE_ADDR or 127.0.0.1:50051)"
        )
        p.add_argument("--timeout", type=float, default=120.0, help="deadline in seconds")

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
