"""Helpers of the deployment tests: read Dockerfiles and .dockerignore as Docker does, find tools.

Docker is not available where the tests run, so the parts of its behaviour the checks rely on
are implemented here, narrowly: instructions with line continuations and exec-form (JSON)
arguments, ARG defaults in FROM, COPY/ADD flags, and .dockerignore's matching rules (patterns in
order, the last match wins, `!` re-includes, a pattern that matches a folder excludes what is
inside it, `**` spans folders).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Instruction:
    keyword: str  # upper case: FROM, COPY, RUN, ...
    value: str  # the rest of the (joined) line
    line: int  # where it starts (1-based)
    stage: int  # index of the FROM stage it belongs to

    def exec_form(self) -> list[str] | None:
        """The JSON array form (`["a", "b"]`) of CMD/ENTRYPOINT/RUN, or None (shell form)."""
        text = self.value.strip()
        if text.startswith("["):
            value = json.loads(text)
            assert isinstance(value, list) and all(isinstance(v, str) for v in value)
            return value
        return None


@dataclass
class Copy:
    """One COPY or ADD: flags (`--from`, `--chmod`, ...), sources, destination."""

    keyword: str
    flags: dict[str, str]
    sources: list[str]
    dest: str
    line: int
    stage: int


@dataclass
class Dockerfile:
    path: Path
    instructions: list[Instruction]
    args: dict[str, str] = field(default_factory=dict)  # ARG defaults declared before FROM

    @classmethod
    def parse(cls, path: Path) -> Dockerfile:
        instructions: list[Instruction] = []
        stage = -1
        pending: list[str] = []
        start = 0
        for number, raw in enumerate(path.read_text().splitlines(), start=1):
            line = raw.strip()
            if not pending and (not line or line.startswith("#")):
                continue  # comments and parser directives
            if pending and line.startswith("#"):
                continue  # comment lines inside a continued instruction are dropped
            if not pending:
                start = number
            if line.endswith("\\"):
                pending.append(line[:-1].strip())
                continue
            pending.append(line)
            text = " ".join(p for p in pending if p)
            pending = []
            keyword, _, value = text.partition(" ")
            keyword = keyword.upper()
            if keyword == "FROM":
                stage += 1
            instructions.append(Instruction(keyword, value.strip(), start, stage))
        assert not pending, f"{path}: the last instruction ends with a line continuation"
        args = {}
        for ins in instructions:
            if ins.keyword == "FROM":
                break
            if ins.keyword == "ARG":
                name, _, default = ins.value.partition("=")
                args[name.strip()] = default.strip().strip('"')
        return cls(path, instructions, args)

    def of(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.of(keyword)
        assert found, f"{self.path.name} has no {keyword}"
        return found[-1]

    def base_images(self) -> list[str]:
        """FROM images with the global ARG defaults substituted."""
        images = []
        for ins in self.of("FROM"):
            words = [w for w in ins.value.split() if not w.startswith("--")]
            images.append(
                re.sub(r"\$\{?(\w+)\}?", lambda m: self.args.get(m.group(1), m.group(0)), words[0])
            )
        return images

    def copies(self) -> list[Copy]:
        found = []
        for ins in self.instructions:
            if ins.keyword not in ("COPY", "ADD"):
                continue
            words = ins.exec_form() or shlex.split(ins.value)
            flags = {}
            while words and words[0].startswith("--"):
                name, _, value = words.pop(0)[2:].partition("=")
                flags[name] = value
            assert len(words) >= 2, f"{self.path.name}:{ins.line}: {ins.keyword} needs SRC DEST"
            found.append(Copy(ins.keyword, flags, words[:-1], words[-1], ins.line, ins.stage))
        return found

    def env(self) -> dict[str, str]:
        """ENV of the final stage (KEY=VALUE form)."""
        final = max(i.stage for i in self.instructions)
        values = {}
        for ins in self.instructions:
            if ins.keyword == "ENV" and ins.stage == final:
                for word in shlex.split(ins.value):
                    key, _, value = word.partition("=")
                    values[key] = value
        return values

    def final_exec(self, keyword: str) -> list[str]:
        ins = self.last(keyword)
        value = ins.exec_form()
        assert value is not None, f"{self.path.name}:{ins.line}: {keyword} must use the exec form"
        return value

    def healthcheck(self) -> tuple[dict[str, str], list[str]]:
        """HEALTHCHECK options and its command (exec form, after CMD)."""
        ins = self.last("HEALTHCHECK")
        options = {}
        rest = ins.value
        while rest.startswith("--"):
            option, _, rest = rest.partition(" ")
            name, _, value = option[2:].partition("=")
            options[name] = value
            rest = rest.strip()
        keyword, _, command = rest.partition(" ")
        assert keyword == "CMD", f"{self.path.name}: HEALTHCHECK {keyword}"
        value = json.loads(command)
        return options, value

    def exposed(self) -> set[int]:
        ports = set()
        for ins in self.of("EXPOSE"):
            ports.update(int(p.split("/")[0]) for p in ins.value.split())
        return ports


class DockerIgnore:
    """`.dockerignore` as Docker applies it to the build context."""

    def __init__(self, path: Path) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        if not path.exists():
            return
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            include = line.startswith("!")
            pattern = os.path.normpath(line[1:].strip() if include else line).strip("/")
            self.rules.append((include, re.compile(_glob_to_regex(pattern))))

    def excluded(self, relative: str) -> bool:
        """Whether the context file at `relative` (a/b/c) is left out of the build context."""
        parts = relative.strip("/").split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        excluded = False
        for include, regex in self.rules:
            if any(regex.fullmatch(p) for p in prefixes):
                excluded = not include
        return excluded


def _glob_to_regex(pattern: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def tracked_files() -> list[str]:
    """Files git tracks plus untracked files it does not ignore (what a commit would carry)."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in out.splitlines() if (ROOT / line).is_file()]


def kustomize() -> str | None:
    """The kustomize binary: $VOXGATE_KUSTOMIZE, the cached build, or deploy/tools.sh builds it
    (Go needed). None if it cannot be had."""
    given = os.environ.get("VOXGATE_KUSTOMIZE")
    if given:
        return given
    try:
        out = subprocess.run(
            [str(ROOT / "deploy" / "tools.sh"), "kustomize"],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = out.stdout.strip()
    if out.returncode == 0 and path and os.access(path, os.X_OK):
        return path
    return shutil.which("kustomize")


def schemas() -> Path | None:
    """The folder of the Compose schema and the ServiceMonitor CRD ($VOXGATE_SCHEMAS, or what
    deploy/tools.sh fetched from the Go module proxy and cached). None if they cannot be had."""
    given = os.environ.get("VOXGATE_SCHEMAS")
    if given:
        return Path(given)
    try:
        out = subprocess.run(
            [str(ROOT / "deploy" / "tools.sh"), "schemas"],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = Path(out.stdout.strip())
    return path if out.returncode == 0 and (path / "compose-spec.json").is_file() else None
