"""What loading a model of a Triton repository takes: the steps its ensemble config wires and
the models it calls through BLS, read from the repository itself so that every profile
(reference, step-audio, a user's own) gets its own answer."""

from __future__ import annotations

from pathlib import Path

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from voxgate.model_names import ALSO_LOADS


def config_path(repository: Path, name: str, config_name: str) -> Path:
    """The config Triton reads for `name` under `--model-config-name=config_name`."""
    chosen = repository / name / "configs" / f"{config_name}.pbtxt"
    return chosen if config_name and chosen.is_file() else repository / name / "config.pbtxt"


def ensemble_steps(repository: Path, name: str, config_name: str) -> tuple[str, ...]:
    """The models `name`'s ensemble config runs (none for a model that is not an ensemble)."""
    path = config_path(repository, name, config_name)
    if not path.is_file():
        return ()
    config = text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())
    return tuple(step.model_name for step in config.ensemble_scheduling.step)


def with_needs(
    models: list[str] | tuple[str, ...], repository: Path, config_name: str
) -> list[str]:
    """`models` and everything they bring (ensemble steps, ALSO_LOADS), transitively, sorted.

    Names without a folder in the repository are left out: a profile without a service's
    models serves without that service (it answers UNIMPLEMENTED), as when Triton loads all.
    """
    out: set[str] = set()
    todo = list(models)
    while todo:
        name = todo.pop()
        if name not in out and (repository / name).is_dir():
            out.add(name)
            todo.extend(ensemble_steps(repository, name, config_name))
            todo.extend(ALSO_LOADS.get(name, ()))
    return sorted(out)
