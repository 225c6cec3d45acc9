"""The Kubernetes manifests say what the code reads: every overlay builds and validates against the
Kubernetes schema, and the manifests name the ports, probe paths, commands and ``IV_*`` variables
that the processes and their settings classes actually use (compose: test_compose.py); the
operational rules of docs/operations.md (probes, disruption budgets, spread, default-deny network
policies, restricted pods, release-named migrations, no password in a URL) hold in every overlay."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from sqlalchemy.engine import make_url

from services.chassis.routing import SERVICES
from tests.deploy.names import (
    COMPONENTS,
    Doc,
    component_env_names,
    factory_of,
    option,
    probe_paths,
    runs_with_the_http_protocol,
    takes_forwarded_headers,
)

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = sorted(p.name for p in (DEPLOY / "k8s" / "overlays").iterdir() if (p / "kustomization.yaml").exists())
# The oldest and the newest Kubernetes minor versions upstream supports as this is written (both
# schemas ship inside kubernetes-validate, so validation works offline). Strict: no unknown field.
KUBERNETES_VERSIONS = ("1.35.0", "1.37.0")


def selects(selector: Doc, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels, matchExpressions with In) picks these labels."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", "only In is understood here"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Doc]]:
    """Every overlay built by kustomize, from a copy whose secret files are the committed examples
    (the real ones are never committed): what an operator gets after the documented copy step."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the overlays cannot be built (kubectl kustomize)")
    tree = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(DEPLOY / "k8s", tree, ignore=shutil.ignore_patterns(*_real_secrets()))
    for example in tree.glob("overlays/*/secrets/*.example"):
        example.with_suffix("").write_text(example.read_text())
    result = {}
    for overlay in OVERLAYS:
        out = subprocess.run(
            [kubectl, "kustomize", str(tree / "overlays" / overlay)], capture_output=True, text=True, check=False
        )
        assert out.returncode == 0, f"kubectl kustomize overlays/{overlay}: {out.stderr}"
        result[overlay] = [doc for doc in yaml.safe_load_all(out.stdout) if doc]
    return result


def _real_secrets() -> list[str]:
    """Names of secret files an operator put beside the examples; the copy leaves them out."""
    return [p.name for p in (DEPLOY / "k8s").glob("overlays/*/secrets/*") if p.suffix != ".example"]


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def pod_templates(docs: list[Doc]) -> Iterator[tuple[Doc, Doc]]:
    """(workload, pod spec) of every Deployment and Job."""
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            yield doc, doc["spec"]["template"]


def test_there_are_overlays_for_development_and_production() -> None:
    assert {"dev", "production"} <= set(OVERLAYS)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_overlay_validates_against_the_kubernetes_schema(
    built: dict[str, list[Doc]], version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kubernetes-validate reads its (large, unchanging) schema files anew for every document.
    monkeypatch.setattr(
        kubernetes_validate.utils, "schema_contents", functools.cache(kubernetes_validate.utils.schema_contents)
    )
    for overlay, docs in built.items():
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(p) for p in exc.path)
                pytest.fail(f"{overlay}: {doc['kind']}/{doc['metadata']['name']} at {path}: {exc.message}")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployments_run_what_the_procfile_runs_with_the_probes_the_apps_serve(
    built: dict[str, list[Doc]], overlay: str
) -> None:
    docs = built[overlay]
    procfile = dict(line.split(":", 1) for line in (DEPLOY / "Procfile").read_text().splitlines() if ":" in line)
    exposed = re.search(r"^EXPOSE (\d+)$", (DEPLOY / "Dockerfile").read_text(), re.MULTILINE)
    assert exposed is not None
    deployments = {d["metadata"]["name"]: d for d in of_kind(docs, "Deployment")}
    assert set(deployments) == set(COMPONENTS)
    services = {s["metadata"]["name"]: s for s in of_kind(docs, "Service")}
    for name, deployment in deployments.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        command = container["command"]
        assert factory_of(command) == factory_of(procfile[name]), name
        assert runs_with_the_http_protocol(command) and runs_with_the_http_protocol(procfile[name]), name
        # Behind the ingress only the gateway takes its X-Forwarded-*; on one machine nothing is in front.
        assert takes_forwarded_headers(command) == (name == "gateway"), name
        assert not takes_forwarded_headers(procfile[name]), name
        port = int(option(command, "--port"))
        assert port == int(exposed.group(1)), name
        assert container["ports"] == [{"name": "http", "containerPort": port}], name
        served = probe_paths(name)
        for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            assert container[probe]["httpGet"] == {"path": path, "port": "http"}, f"{name} {probe}"
            assert path in served, f"{name} does not serve {path}"
        (service_port,) = services[name]["spec"]["ports"]
        assert service_port["targetPort"] == "http"
        assert (
            services[name]["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_variable_set_is_one_the_settings_read(built: dict[str, list[Doc]], overlay: str) -> None:
    docs = built[overlay]
    config_maps = {c["metadata"]["name"]: c["data"] for c in of_kind(docs, "ConfigMap")}
    for workload, template in pod_templates(docs):
        for container in template["spec"]["containers"]:
            component = _component_of(container["command"])
            names = {e["name"] for e in container.get("env", [])}
            for source in container.get("envFrom", []):
                names |= set(config_maps[source["configMapRef"]["name"]])
            unread = names - component_env_names(component)
            assert not unread, f"{overlay} {workload['kind']}/{workload['metadata']['name']} sets {sorted(unread)}"


def _component_of(command: list[str]) -> str:
    if "--factory" in command:
        return factory_of(command).split(".app:")[0].removeprefix("services.")
    return command[command.index("-m") + 1].removeprefix("services.")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_addresses_point_at_the_services_and_urls_carry_no_password(built: dict[str, list[Doc]], overlay: str) -> None:
    docs = built[overlay]
    config = {k: v for c in of_kind(docs, "ConfigMap") for k, v in c["data"].items()}
    ports = {s["metadata"]["name"]: s["spec"]["ports"][0]["port"] for s in of_kind(docs, "Service")}
    for service in SERVICES:
        url = make_url(config[f"IV_{service.upper()}_URL"].replace("http://", "postgresql://"))
        assert (url.host, url.port or 80) == (service, ports[service])
        database = make_url(config[f"IV_{service.upper()}_DATABASE_URL"])
        assert database.database == service, "one database per service"
        assert database.password is None, "the password is a mounted file, not part of the URL"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scaling_and_disruption(built: dict[str, list[Doc]], overlay: str) -> None:
    docs = built[overlay]
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in of_kind(docs, "HorizontalPodAutoscaler")}
    budgets = of_kind(docs, "PodDisruptionBudget")
    for deployment in of_kind(docs, "Deployment"):
        name = deployment["metadata"]["name"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if name in scaled:
            assert "replicas" not in deployment["spec"], f"{name}: the HPA owns the replica count"
        assert any(selects(b["spec"]["selector"], labels) for b in budgets), f"{name} has no PodDisruptionBudget"
        spread = deployment["spec"]["template"]["spec"].get("topologySpreadConstraints", [])
        keys = {c["topologyKey"] for c in spread if selects(c["labelSelector"], labels)}
        assert {"topology.kubernetes.io/zone", "kubernetes.io/hostname"} <= keys, name
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] >= 1
        if overlay == "dev":
            assert hpa["spec"]["minReplicas"] == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_open_each_path(built: dict[str, list[Doc]], overlay: str) -> None:
    docs = built[overlay]
    policies = [p["spec"] for p in of_kind(docs, "NetworkPolicy")]
    assert any(
        p["podSelector"] == {}
        and set(p["policyTypes"]) == {"Ingress", "Egress"}
        and not p.get("ingress")
        and not p.get("egress")
        for p in policies
    ), "no default-deny policy"

    def allowed(direction: str, labels: dict[str, str], port: int) -> list[Doc]:
        """The peers of every rule that lets pods with ``labels`` send (egress) or take (ingress) ``port``."""
        peers = []
        for policy in policies:
            if direction.capitalize() in policy["policyTypes"] and selects(policy["podSelector"], labels):
                for rule in policy.get(direction, []):
                    if any(p["port"] == port for p in rule.get("ports", [])):
                        peers += rule.get("to" if direction == "egress" else "from", [])
        return peers

    for workload, template in pod_templates(docs):
        labels = template["metadata"]["labels"]
        name = workload["metadata"]["name"]
        assert allowed("egress", labels, 53), f"{name} cannot resolve names"
        if labels["iv-platform/tier"] in ("service", "migrate"):
            assert allowed("egress", labels, 5432), f"{name} cannot reach PostgreSQL"
        if workload["kind"] == "Deployment":
            tier = labels["iv-platform/tier"]
            assert any(
                p.get("podSelector", {}).get("matchLabels") == {"iv-platform/tier": "service"}
                for p in allowed("egress", labels, 8000)
            ), f"{name} cannot call the services"
            scrapers = allowed("ingress", labels, 8000)
            assert any("prometheus" in str(p) for p in scrapers), f"Prometheus cannot scrape {name}"
            if tier == "service":
                assert {"podSelector": {"matchLabels": {"iv-platform/tier": "edge"}}} in scrapers


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_are_restricted_and_bounded(built: dict[str, list[Doc]], overlay: str) -> None:
    docs = built[overlay]
    (namespace,) = of_kind(docs, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for workload, template in pod_templates(docs):
        spec = template["spec"]
        pod = spec.get("securityContext", {})
        for container in spec["containers"]:
            where = f"{overlay} {workload['kind']}/{workload['metadata']['name']}/{container['name']}"
            own = container.get("securityContext", {})
            assert own.get("runAsNonRoot", pod.get("runAsNonRoot")) is True, where
            assert own.get("seccompProfile", pod.get("seccompProfile")) == {"type": "RuntimeDefault"}, where
            assert own.get("readOnlyRootFilesystem") is True, where
            assert own.get("allowPrivilegeEscalation") is False, where
            assert own.get("capabilities") == {"drop": ["ALL"]}, where
            resources = container.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), where
            assert "memory" in resources.get("limits", {}), where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_run_per_service_in_a_job_named_for_the_release(built: dict[str, list[Doc]], overlay: str) -> None:
    docs = built[overlay]
    (gateway,) = (d for d in of_kind(docs, "Deployment") if d["metadata"]["name"] == "gateway")
    tag = gateway["spec"]["template"]["spec"]["containers"][0]["image"].rsplit(":", 1)[1]
    jobs = {j["metadata"]["name"]: j for j in of_kind(docs, "Job")}
    assert set(jobs) == {f"{service}-migrate-{tag}" for service in SERVICES}
    for name, job in jobs.items():
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", f"services.{name.split('-')[0]}", "migrate"]
        assert container["image"].endswith(f":{tag}")
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
