"""deploy/k8s: the cpu and gpu overlays rendered by kustomize and validated offline.

- every object validates against the Kubernetes API schemas of the `kubernetes-validate`
  package, strictly (unknown fields fail), for the oldest version these manifests support (1.27:
  native gRPC probes are GA there) and the newest the package knows;
- the ServiceMonitors (a CRD, unknown to that package) validate against the fetched
  prometheus-operator CRD schema (fetched by deploy/tools.sh), also with unknown fields refused;
- the objects fit together: Services, PDB, HPA, NetworkPolicy and ServiceMonitors select the
  pods and ports they mean, the façade's Triton URL names a Service that reaches Triton's gRPC
  port, the probes use the ports the images serve, the overlays differ as they should.
"""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version
from voxgate import config

from tests.deploy.deploytools import ROOT, Dockerfile, kustomize, schemas

OVERLAYS = ("cpu", "gpu")
OLDEST_KUBERNETES = "1.27"
FACADE_LABELS = {"app.kubernetes.io/name": "voxgate", "app.kubernetes.io/component": "facade"}
TRITON_LABELS = {"app.kubernetes.io/name": "voxgate", "app.kubernetes.io/component": "triton"}


@pytest.fixture(scope="module")
def kustomize_bin() -> str:
    path = kustomize()
    if path is None:
        pytest.skip(
            "kustomize cannot be installed here (deploy/tools.sh builds it with Go from the Go "
            "module proxy; or set VOXGATE_KUSTOMIZE)"
        )
    return path


@pytest.fixture(scope="module")
def rendered(kustomize_bin: str) -> dict[str, list[dict]]:
    out = {}
    for overlay in OVERLAYS:
        run = subprocess.run(
            [kustomize_bin, "build", str(ROOT / "deploy/k8s/overlays" / overlay)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        out[overlay] = [doc for doc in yaml.safe_load_all(run.stdout) if doc]
    return out


def _one(objects: list[dict], kind: str, name: str) -> dict:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _all(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def _selects(selector: dict, labels: dict) -> bool:
    """matchLabels / matchExpressions (In, NotIn, Exists, DoesNotExist), or a plain map."""
    match = selector.get("matchLabels", selector if "matchExpressions" not in selector else {})
    if any(labels.get(k) != v for k, v in match.items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and labels.get(key) in values)
            or (op == "Exists" and key not in labels)
            or (op == "DoesNotExist" and key in labels)
        ):
            return False
    return True


def _pod_template(objects: list[dict], labels: dict) -> dict:
    (deployment,) = [
        d
        for d in _all(objects, "Deployment")
        if _selects(labels, d["spec"]["template"]["metadata"]["labels"])
    ]
    return deployment["spec"]["template"]


def _container_ports(template: dict) -> dict[str, int]:
    return {
        p["name"]: p["containerPort"]
        for c in template["spec"]["containers"]
        for p in c.get("ports", [])
    }


def _strict(schema: object) -> object:
    """The CRD's openAPIV3Schema with unknown fields refused (the API server would silently
    prune them: a misspelt field would be lost, not reported)."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@pytest.fixture(scope="module")
def servicemonitor_schema() -> dict:
    folder = schemas()
    if folder is None:
        pytest.skip("the ServiceMonitor CRD comes from the Go module proxy (deploy/tools.sh)")
    crd = yaml.safe_load((folder / "monitoring.coreos.com_servicemonitors.yaml").read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema = _strict(version["schema"]["openAPIV3Schema"])
    # metadata is the API server's ObjectMeta (validated by the server, not the CRD).
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", [OLDEST_KUBERNETES, latest_version()])
def test_objects_validate_against_the_api_schemas(
    rendered: dict[str, list[dict]], overlay: str, version: str, servicemonitor_schema: dict
) -> None:
    kinds = set()
    errors = []
    for obj in rendered[overlay]:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        kinds.add(obj["kind"])
        if obj["apiVersion"] == "monitoring.coreos.com/v1":
            assert obj["kind"] == "ServiceMonitor", name
            validator = jsonschema.Draft7Validator(servicemonitor_schema)
            for err in validator.iter_errors(obj):
                path = ".".join(str(p) for p in err.path)
                errors.append(f"{name} against the ServiceMonitor CRD: {path}: {err.message}")
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            path = ".".join(str(p) for p in err.path)
            errors.append(f"{name} against Kubernetes {version}: {path}: {err.message}")
        except kubernetes_validate.SchemaNotFoundError as err:
            errors.append(f"{name}: {err.message}")
    assert not errors, f"{overlay} overlay:\n" + "\n".join(errors)
    assert kinds == {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "PersistentVolumeClaim",
        "NetworkPolicy",
        "ServiceMonitor",
    }


def test_the_servicemonitor_schema_catches_mistakes(servicemonitor_schema: dict) -> None:
    good = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "x"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "endpoints": [{"port": "metrics"}]},
    }
    jsonschema.Draft7Validator(servicemonitor_schema).validate(good)
    bad = copy.deepcopy(good)
    bad["spec"]["endpoints"][0]["intervall"] = "15s"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(servicemonitor_schema).validate(bad)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_facade_deployment(rendered: dict[str, list[dict]], overlay: str) -> None:
    objects = rendered[overlay]
    facade_image = Dockerfile.parse(ROOT / "Dockerfile")
    template = _pod_template(objects, FACADE_LABELS)
    spec = template["spec"]
    (container,) = spec["containers"]
    ports = _container_ports(template)
    assert ports == {"grpc": 50051, "metrics": 9464}
    assert set(ports.values()) <= facade_image.exposed()
    args = container["args"]
    assert int(args[args.index("--port") + 1]) == ports["grpc"]
    assert int(args[args.index("--metrics-port") + 1]) == ports["metrics"]
    assert args[args.index("--host") + 1] == "0.0.0.0"
    assert args[args.index("--metrics-host") + 1] == "0.0.0.0", "scraped from other pods"
    settings = config.parse(args, env={})  # the façade accepts these flags
    assert settings.port == ports["grpc"] and settings.metrics_port == ports["metrics"]

    # Readiness: the standard health service, natively; liveness: the port (a Triton outage is
    # NOT_SERVING everywhere and must not restart the façades).
    ready = container["readinessProbe"]["grpc"]
    assert ready == {"port": ports["grpc"], "service": ""}
    assert container["livenessProbe"]["tcpSocket"]["port"] in ("grpc", ports["grpc"])
    assert "grpc" not in container["livenessProbe"]

    # Drain (the server's own, at SIGTERM): NOT_SERVING, new calls for drain_delay_s while the
    # endpoint removal spreads, then shutdown_grace_s for calls in flight; Kubernetes must not
    # kill the pod before both are over.
    assert settings.drain_delay_s >= 5
    assert spec["terminationGracePeriodSeconds"] >= (
        settings.drain_delay_s + settings.shutdown_grace_s + 5
    )
    assert settings.max_connection_age_s > 0, "long-lived client connections rebalance"
    assert settings.max_connection_age_grace_s >= settings.max_chat_seconds

    resources = container["resources"]
    assert resources["requests"]["cpu"] and resources["requests"]["memory"]
    assert resources["limits"]["memory"]
    pod_security, security = spec["securityContext"], container["securityContext"]
    assert pod_security["runAsNonRoot"] is True and pod_security["runAsUser"] != 0
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    user = facade_image.last("USER").value.split(":")[0]
    assert pod_security["runAsUser"] == int(user), "the image's user"
    # The voice registry's folder (VOXGATE_DATA_DIR) and /tmp are writable volumes.
    env = {e["name"]: e["value"] for e in container["env"]}
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert env["VOXGATE_DATA_DIR"] in mounts and "/tmp" in mounts

    # Stateless and disposable: a PDB and an HPA on this Deployment.
    deployment = _one(objects, "Deployment", "voxgate-facade")
    pdb = _one(objects, "PodDisruptionBudget", "voxgate-facade")
    assert _selects(pdb["spec"]["selector"], template["metadata"]["labels"])
    hpa = _one(objects, "HorizontalPodAutoscaler", "voxgate-facade")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "voxgate-facade")
    assert hpa["spec"]["minReplicas"] > pdb["spec"]["minAvailable"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_reach_their_pods(rendered: dict[str, list[dict]], overlay: str) -> None:
    objects = rendered[overlay]
    templates = {
        "facade": _pod_template(objects, FACADE_LABELS),
        "triton": _pod_template(objects, TRITON_LABELS),
    }
    headless = set()
    for service in _all(objects, "Service"):
        targets = [
            name
            for name, t in templates.items()
            if _selects(service["spec"]["selector"], t["metadata"]["labels"])
        ]
        assert len(targets) == 1, f"Service/{service['metadata']['name']} selects {targets}"
        ports = _container_ports(templates[targets[0]])
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            assert target in ports or target in ports.values(), (service, port)
        if service["spec"].get("clusterIP") == "None":
            headless.add(targets[0])
            assert service["spec"]["ports"][0]["name"] == "grpc"
    assert headless == {"facade", "triton"}, "a headless Service for each tier"

    # The façade's --triton-url names a Service port that leads to Triton's gRPC port.
    args = templates["facade"]["spec"]["containers"][0]["args"]
    host, port = args[args.index("--triton-url") + 1].split(":")
    service = _one(objects, "Service", host)
    assert _selects(service["spec"]["selector"], templates["triton"]["metadata"]["labels"])
    (entry,) = [p for p in service["spec"]["ports"] if p["port"] == int(port)]
    assert _container_ports(templates["triton"])[entry["targetPort"]] == 8001


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_triton_deployment(rendered: dict[str, list[dict]], overlay: str) -> None:
    objects = rendered[overlay]
    triton_image = Dockerfile.parse(ROOT / "Dockerfile.triton")
    template = _pod_template(objects, TRITON_LABELS)
    spec = template["spec"]
    (container,) = spec["containers"]
    ports = _container_ports(template)
    assert ports == {"http": 8000, "grpc": 8001, "metrics": 8002}
    assert set(ports.values()) == triton_image.exposed()

    # The image's command, with the config name from the overlay's env.
    args = container["args"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert args[0] == "tritonserver"
    flags = dict(a.removeprefix("--").split("=", 1) for a in args[1:])
    config = re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], flags["model-config-name"])
    assert config == overlay
    for model in ROOT.glob("triton_models/*/configs"):
        assert (model / f"{config}.pbtxt").is_file(), model
    image_flags = dict(
        a.removeprefix("--").split("=", 1) for a in triton_image.final_exec("CMD")[1:]
    )
    for key in ("model-repository", "strict-readiness"):
        assert flags[key] == image_flags[key]

    # The model repository comes from the PVC, read-only, where the command looks for it.
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    (models,) = [m for m in mounts.values() if m["mountPath"] == flags["model-repository"]]
    assert models["readOnly"] is True
    claim = volumes[models["name"]]["persistentVolumeClaim"]["claimName"]
    _one(objects, "PersistentVolumeClaim", claim)
    shm = [m for m in mounts.values() if m["mountPath"] == "/dev/shm"]
    assert shm and volumes[shm[0]["name"]]["emptyDir"]["medium"] == "Memory"

    # No drain in Triton: preStop keeps it serving while it leaves the Services, then
    # --exit-timeout-secs lets requests in flight finish, both before Kubernetes kills it.
    sleep = container["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep"
    assert spec["terminationGracePeriodSeconds"] > int(sleep[1]) + int(flags["exit-timeout-secs"])
    for probe in ("startupProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == int(
        triton_image.last("USER").value.split(":")[0]
    )

    resources = container["resources"]
    gpus = resources["limits"].get("nvidia.com/gpu")
    if overlay == "gpu":
        assert gpus == 1 and resources["requests"]["nvidia.com/gpu"] == 1
        assert any(t["key"] == "nvidia.com/gpu" for t in spec["tolerations"])
    else:
        assert gpus is None and "tolerations" not in spec


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_facades_reach_triton(rendered: dict[str, list[dict]], overlay: str) -> None:
    objects = rendered[overlay]
    facade = _pod_template(objects, FACADE_LABELS)["metadata"]["labels"]
    triton = _pod_template(objects, TRITON_LABELS)["metadata"]["labels"]
    (policy,) = [
        p for p in _all(objects, "NetworkPolicy") if _selects(p["spec"]["podSelector"], triton)
    ]
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    grpc_rules = []
    for rule in policy["spec"]["ingress"]:
        ports = {p["port"] for p in rule["ports"]}
        assert rule.get("from"), "a rule without `from` admits every pod"
        if 8001 in ports:
            grpc_rules.append(rule)
            assert ports == {8001}
            for peer in rule["from"]:
                assert set(peer) == {"podSelector"}, "only pods of this namespace"
                assert _selects(peer["podSelector"], facade)
                assert not _selects(peer["podSelector"], triton)
        else:
            assert ports == {8002}, "besides gRPC, only the metrics port (Prometheus)"
    assert grpc_rules


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_servicemonitors_scrape_each_tier_once(
    rendered: dict[str, list[dict]], overlay: str
) -> None:
    objects = rendered[overlay]
    services = _all(objects, "Service")
    scraped = {}
    for monitor in _all(objects, "ServiceMonitor"):
        chosen = [
            s for s in services if _selects(monitor["spec"]["selector"], s["metadata"]["labels"])
        ]
        assert len(chosen) == 1, f"{monitor['metadata']['name']}: {len(chosen)} Services"
        (service,) = chosen
        assert service["spec"].get("clusterIP") != "None"
        names = {p["name"] for p in service["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["port"] in names
        scraped[service["metadata"]["name"]] = monitor["metadata"]["name"]
    assert set(scraped) == {"voxgate", "voxgate-triton"}


def test_overlays_put_everything_in_one_namespace(rendered: dict[str, list[dict]]) -> None:
    for overlay, objects in rendered.items():
        assert {o["metadata"].get("namespace") for o in objects} == {"voxgate"}, overlay
        for obj in objects:
            assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "voxgate"
    images = {
        c["image"]
        for o in rendered["gpu"]
        if o["kind"] == "Deployment"
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"voxgate/facade:0.1.0", "voxgate/triton:0.1.0"}


def test_every_manifest_file_is_rendered() -> None:
    base = ROOT / "deploy/k8s/base"
    listed = yaml.safe_load((base / "kustomization.yaml").read_text())["resources"]
    files = sorted(p.name for p in base.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == files
    for overlay in OVERLAYS:
        folder = ROOT / "deploy/k8s/overlays" / overlay
        kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
        patches = sorted(Path(p["path"]).name for p in kustomization.get("patches", []))
        files = sorted(p.name for p in folder.glob("*.yaml") if p.name != "kustomization.yaml")
        assert patches == files, overlay
