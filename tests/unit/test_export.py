"""`stateful export`: specs -> Kubernetes manifests and compose files, one feature per row.

Every Kubernetes object written is validated against the Kubernetes API's own schema: the
official client's models (strict pydantic, unknown fields forbidden) must accept it, and what
they read back must equal what was written, so a misspelt field (which a lenient reader would
drop) fails too. The validator's positive controls prove it rejects wrong manifests.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient
from ruamel.yaml import YAML

from orchestrate.model.facts import Fingerprint
from orchestrate.state import Store
from orchestrate.tools.export import compose, export, kubernetes, measured_sizes
from orchestrate.tools.export.report import is_secret_file
from tests.unit.builders import load_app, load_apps

MODELS = {("apps/v1", "StatefulSet"): "V1StatefulSet", ("v1", "Service"): "V1Service", ("v1", "Secret"): "V1Secret"}
SECRET = "s3cr'et-$value"
BASE = """\
    apiVersion: stateful/v1
    kind: App
    name: db
    image: mariadb:11
    env:
      MARIADB_ROOT_PASSWORD: "s3cr'et-$$value"
      MARIADB_DATABASE: shop
    volumes:
      data: {target: /var/lib/mysql}
    restart: always
    healthcheck: {test: ["CMD", "healthcheck.sh", "--connect"]}
"""


def validate(document: dict[str, Any]) -> Any:
    """The client's model of `document`; AssertionError or a ValidationError when it is not one."""
    model = MODELS[(document["apiVersion"], document["kind"])]
    client = ApiClient()
    parsed = client._ApiClient__deserialize(document, model)  # type: ignore[attr-defined]
    read_back = client.sanitize_for_serialization(parsed)
    assert read_back == document, f"fields the API does not know, or of another type:\n{read_back}\n!=\n{document}"
    assert document["metadata"]["name"]
    if document["kind"] == "StatefulSet":
        _check_statefulset(document["spec"])
    return parsed


def _check_statefulset(spec: dict[str, Any]) -> None:
    """What the API server checks beyond the schema, for the fields the export writes."""
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items(), "the selector does not select the template"
    pod = spec["template"]["spec"]
    named = {v["name"] for v in pod.get("volumes", [])} | {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
    for container in pod["containers"]:
        for mount in container.get("volumeMounts", []):
            assert mount["name"] in named, f"volumeMount {mount['name']} names no volume or claim"
    mounted = {m["name"] for c in pod["containers"] for m in c.get("volumeMounts", [])}
    for claim in spec.get("volumeClaimTemplates", []):
        assert claim["metadata"]["name"] in mounted, f"claim {claim['metadata']['name']} is mounted by no container"


def k8s(tmp_path: Path, extra: str = "", *, size: int | None = None, base: str = BASE) -> tuple[list[dict[str, Any]], list[str], str]:
    """(every document, validated; the notes; the text of the non-secret files)."""
    app = load_app(tmp_path, base + "    " + extra)
    secret_files = {m.source: Path(m.source).read_bytes() for m in app.mounts if is_secret_file(m)}
    result = kubernetes.translate(app, sizes={"data": size}, secret_files=secret_files)
    documents = [d for f in result.files for d in YAML(typ="safe").load_all(f.text)]
    for document in documents:
        validate(document)
    public = "".join(f.text for f in result.files if not f.private)
    return documents, list(result.notes), public


def _kind(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(d for d in documents if d["kind"] == kind)


def _container(documents: list[dict[str, Any]]) -> dict[str, Any]:
    return _kind(documents, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]


# --- the validator's positive controls ---------------------------------------------------------


def _container_of(statefulset: dict[str, Any]) -> dict[str, Any]:
    return statefulset["spec"]["template"]["spec"]["containers"][0]


def _good(tmp_path: Path) -> dict[str, Any]:
    return _kind(k8s(tmp_path)[0], "StatefulSet")


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda d: d["spec"].update(servceName="db"), id="misspelt field"),
        pytest.param(lambda d: d["spec"].update(replicas="1"), id="string for an integer"),
        pytest.param(lambda d: d["spec"].pop("template"), id="required field missing"),
        pytest.param(lambda d: _container_of(d).update(readinessProbe={"exec": {}, "periodSecond": 5}), id="misspelt nested field"),
        pytest.param(lambda d: _container_of(d)["volumeMounts"][0].update(name="nowhere"), id="mount of no volume"),
        pytest.param(lambda d: d["spec"]["selector"].update(matchLabels={"app.kubernetes.io/name": "other"}), id="selector misses the pods"),
    ],
)
def test_the_validator_rejects_a_wrong_manifest(tmp_path: Path, spoil: Any) -> None:
    document = _good(tmp_path)
    validate(document)  # the unspoilt one passes: the rejection below is the spoiling's
    spoil(document)
    with pytest.raises((AssertionError, ValueError)):
        validate(document)


# --- Kubernetes translation, one feature per row ---------------------------------------------

CONTAINER_ROWS = [
    ("", "livenessProbe", {"exec": {"command": ["healthcheck.sh", "--connect"]}, "periodSeconds": 30, "timeoutSeconds": 30, "failureThreshold": 3}),
    ("", "readinessProbe", {"exec": {"command": ["healthcheck.sh", "--connect"]}, "periodSeconds": 30, "timeoutSeconds": 30, "failureThreshold": 3}),
    ("resources: {memory: 512m, cpus: 1.5}", "resources", {"limits": {"memory": "512Mi", "cpu": "1500m"}}),
    ('user: "999:998"', "securityContext", {"runAsUser": 999, "runAsGroup": 998}),
    ('command: ["--opt=$$(HOME)"]', "args", ["--opt=$$(HOME)"]),
    ('entrypoint: ["docker-entrypoint.sh"]', "command", ["docker-entrypoint.sh"]),
    ('ports: ["127.0.0.1:3306:3306", "53/udp"]', "ports", [{"containerPort": 53, "protocol": "UDP"}, {"containerPort": 3306, "protocol": "TCP"}]),
]


@pytest.mark.parametrize(("extra", "field", "expected"), CONTAINER_ROWS)
def test_container_fields(tmp_path: Path, extra: str, field: str, expected: Any) -> None:
    documents, _, _ = k8s(tmp_path, extra)
    assert _container(documents)[field] == expected


def test_a_shell_healthcheck_runs_under_sh_and_its_start_period_becomes_a_startup_probe(tmp_path: Path) -> None:
    base = BASE.replace('healthcheck: {test: ["CMD", "healthcheck.sh", "--connect"]}', "")
    documents, _, _ = k8s(tmp_path, 'healthcheck: {test: "mysqladmin ping", interval: 5s, timeout: 1500ms, retries: 4, start_period: 22s}', base=base)
    container = _container(documents)
    shell = {"exec": {"command": ["sh", "-c", "mysqladmin ping"]}, "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 4}
    assert container["livenessProbe"] == shell
    assert container["startupProbe"]["failureThreshold"] == 5 + 4  # ceil(22 / 5) periods of grace, then the retries


def test_grace_tmpfs_and_data_claims(tmp_path: Path) -> None:
    documents, _, _ = k8s(tmp_path, "stop_grace_period: 90s", size=700 * 1024**2)
    spec = _kind(documents, "StatefulSet")["spec"]
    assert spec["replicas"] == 1 and spec["serviceName"] == "db"
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] == 90
    (claim,) = spec["volumeClaimTemplates"]
    assert claim == {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}}
    assert _kind(documents, "Service")["spec"]["clusterIP"] == "None"


def test_tmpfs_becomes_an_emptydir_in_memory(tmp_path: Path) -> None:
    scratch = "      scratch: {target: /tmp, tmpfs: {size: 64m}}\n"
    base = BASE.replace("      data: {target: /var/lib/mysql}\n", "      data: {target: /var/lib/mysql}\n" + scratch)
    documents, _, _ = k8s(tmp_path, base=base)
    volumes = _kind(documents, "StatefulSet")["spec"]["template"]["spec"]["volumes"]
    assert volumes == [{"name": "tmpfs-scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}]


@pytest.mark.parametrize(
    ("measured", "requested"),
    [(None, 1024**3), (0, 1024**3), (300 * 1024**2, 1024**3), (700 * 1024**2, 2 * 1024**3), (5 * 1024**3 + 1, 11 * 1024**3)],
)
def test_claim_size_is_the_measured_size_with_headroom_in_whole_gib(measured: int | None, requested: int) -> None:
    assert kubernetes.claim_size(measured) == requested


NOTE_ROWS = [
    ("", "db: volumes.data: volume db-data becomes claim data of 1Gi (size unknown"),
    ('ports: ["127.0.0.1:3306:3306"]', "db: ports: 127.0.0.1:3306:3306/tcp is published on the host"),
    ("restart: unless-stopped", "db: restart: unless-stopped: a StatefulSet's pod always restarts"),
    ("network: {name: backend, aliases: [mysql]}", "db: network.aliases: mysql not translated"),
    ('labels: {"bad key!": x}', "db: labels.bad key!: not a valid Kubernetes label; left out"),
    ("user: mysql", "db: user: 'mysql': Kubernetes takes numeric ids only"),
]


@pytest.mark.parametrize(("extra", "note"), NOTE_ROWS)
def test_what_does_not_translate_is_said(tmp_path: Path, extra: str, note: str) -> None:
    base = BASE.replace("    restart: always\n", "") if extra.startswith("restart") else BASE
    _, notes, _ = k8s(tmp_path, extra, base=base)
    assert any(line.startswith(note) for line in notes), notes


def test_a_translated_app_has_no_needless_notes(tmp_path: Path) -> None:
    _, notes, _ = k8s(tmp_path, size=10 * 1024**2)
    assert notes == ["db: volumes.data: volume db-data becomes claim data of 1Gi (measured 10.0 MiB, x2); it starts empty: copy the data into it"]


def test_depends_on_volumes_from_and_binds(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    apps = load_apps(
        tmp_path,
        BASE
        + """    ---
    apiVersion: stateful/v1
    kind: App
    name: web
    image: nginx
    depends_on: [db]
    volumes_from: ["db:ro"]
    volumes:
      conf: {target: /etc/nginx, bind: ./conf}
    restart: always
    healthcheck: {disable: true}
    """,
    )
    result = kubernetes.translate(apps[1], sizes={}, secret_files={})
    for document in YAML(typ="safe").load_all(result.files[0].text):
        validate(document)
    notes = "\n".join(result.notes)
    assert "web: depends_on: db not translated" in notes
    assert "web: volumes_from: db/data at /var/lib/mysql not translated" in notes
    assert f"web: volumes.conf: bind {tmp_path / 'conf'} becomes claim conf of 1Gi" in notes


def test_secret_values_go_only_into_the_private_secret(tmp_path: Path) -> None:
    (tmp_path / "pw").write_bytes(b"file-secret")
    documents, notes, public = k8s(tmp_path, "secrets:\n      root: {file: ./pw}")
    secret = _kind(documents, "Secret")
    assert secret["stringData"] == {"MARIADB_ROOT_PASSWORD": SECRET}
    assert secret["data"] == {"root": "ZmlsZS1zZWNyZXQ="}
    env = {e["name"]: e for e in _container(documents)["env"]}
    reference = {"secretKeyRef": {"name": "db-secrets", "key": "MARIADB_ROOT_PASSWORD"}}
    assert env["MARIADB_ROOT_PASSWORD"] == {"name": "MARIADB_ROOT_PASSWORD", "valueFrom": reference}
    assert env["MARIADB_DATABASE"] == {"name": "MARIADB_DATABASE", "value": "shop"}
    assert {"name": "secret-files", "mountPath": "/run/secrets/root", "subPath": "root", "readOnly": True} in _container(documents)["volumeMounts"]
    for text in (public, *notes):
        assert SECRET not in text and "file-secret" not in text and "ZmlsZS1zZWNyZXQ=" not in text


@pytest.mark.parametrize(("name", "expected"), [("db", "db"), ("my_app.v2", "my-app-v2"), ("9lives", "app-9lives")])
def test_object_names_are_dns_labels(name: str, expected: str) -> None:
    assert kubernetes.object_name(name) == expected


# --- compose translation -------------------------------------------------------------------


def _compose(tmp_path: Path, text: str) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    result = compose.translate(load_apps(tmp_path, text))
    files = {f.name: f for f in result.files}
    document = YAML(typ="safe").load(files.pop(compose.COMPOSE_FILE).text)
    assert all(f.private for f in files.values())
    return document, {name: f.text for name, f in files.items()}, list(result.notes)


COMPOSE_ROWS = [
    ("", "environment", {"MARIADB_DATABASE": "shop"}),
    ("", "env_file", ["./db.secret.env"]),
    ("", "volumes", [{"type": "volume", "source": "db-data", "target": "/var/lib/mysql", "read_only": False}]),
    ("", "network_mode", "bridge"),
    ("", "container_name", "db"),
    ("", "healthcheck", {"test": ["CMD", "healthcheck.sh", "--connect"]}),
    ("stop_grace_period: 90s", "stop_grace_period", "90s"),
    ("resources: {memory: 1g, cpus: 0.5}", "mem_limit", 1024**3),
    ("resources: {memory: 1g, cpus: 0.5}", "cpus", 0.5),
    ('command: ["--opt=$$HOME"]', "command", ["--opt=$$HOME"]),
    ("network: {name: backend, aliases: [mysql]}", "networks", {"backend": {"aliases": ["mysql"]}}),
    ('ports: ["127.0.0.1:3306:3306"]', "ports", [{"target": 3306, "protocol": "tcp", "published": "3306", "host_ip": "127.0.0.1"}]),
]


@pytest.mark.parametrize(("extra", "field", "expected"), COMPOSE_ROWS)
def test_compose_service_fields(tmp_path: Path, extra: str, field: str, expected: Any) -> None:
    document, _, _ = _compose(tmp_path, BASE + "    " + extra)
    assert document["services"]["db"][field] == expected


def test_compose_volumes_are_the_apps_own_external_ones_and_secrets_stay_in_the_env_file(tmp_path: Path) -> None:
    document, private, notes = _compose(tmp_path, BASE)
    assert document["volumes"] == {"db-data": {"external": True, "name": "db-data"}}
    assert private == {"db.secret.env": "MARIADB_ROOT_PASSWORD=\"s3cr'et-\\$value\"\n"}
    assert SECRET not in str(document) and not any(SECRET in n for n in notes)


@pytest.mark.parametrize(("value", "line"), [("plain$x", "K='plain$x'"), ("it's $a \"b\" \\", 'K="it\'s \\$a \\"b\\" \\\\"')])
def test_env_file_values_are_read_back_literally(value: str, line: str) -> None:
    assert compose.env_file_text({"K": value}) == line + "\n"


def test_compose_depends_on_waits_for_health_when_it_can(tmp_path: Path) -> None:
    web = "    ---\n    apiVersion: stateful/v1\n    kind: App\n    name: web\n    image: nginx\n    depends_on: [db]\n    restart: on-failure:3\n"
    document, _, _ = _compose(tmp_path, BASE + web)
    assert document["services"]["web"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert document["services"]["web"]["restart"] == "on-failure:3"


# --- the flow: sizes from the state store, files on disk -----------------------------------


def test_sizes_come_from_the_fingerprints_and_a_missing_store_is_not_made(tmp_path: Path) -> None:
    assert measured_sizes(tmp_path / "none") == {}
    assert not (tmp_path / "none").exists()
    with Store.open(tmp_path / "state") as store:
        store.save_fingerprint(Fingerprint("db", "data", "volume", "db-data", "x", 5, 3 * 1024**3, True, 0.0))
    assert measured_sizes(tmp_path / "state") == {("db", "data"): 3 * 1024**3}


def test_export_writes_secret_files_private_and_the_rest_readable(tmp_path: Path) -> None:
    apps = load_apps(tmp_path, BASE)
    with Store.open(tmp_path / "state") as store:
        store.save_fingerprint(Fingerprint("db", "data", "volume", "db-data", "x", 5, 3 * 1024**3, True, 0.0))
    written = export(apps, to="kubernetes", out=tmp_path / "k8s", state_dir=tmp_path / "state")
    modes = {p.name: os.stat(p).st_mode & 0o777 for p in written.paths}
    assert modes == {"db.yaml": 0o644, "db.secret.yaml": 0o600}
    assert "storage: 6Gi" in (tmp_path / "k8s" / "db.yaml").read_text()
    written = export(apps, to="compose", out=tmp_path / "compose", state_dir=tmp_path / "state")
    assert {p.name: os.stat(p).st_mode & 0o777 for p in written.paths} == {"compose.yaml": 0o644, "db.secret.env": 0o600}
