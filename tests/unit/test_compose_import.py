"""docker-compose file -> spec documents: whole files (tests/unit/compose/), then one compose feature per row.

Every spec produced is validated by the spec model itself, so an import never writes a document
that `stateful apply` would reject for its shape.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestrate.cli import main
from orchestrate.runs.pipeline import load
from orchestrate.spec.interpolate import interpolate
from orchestrate.spec.models import App
from orchestrate.tools.compose_import import CANONICAL_ORDER, Translation, app_name, project_name, split_colons, translate, volume_key

FIXTURES = Path(__file__).parent / "compose"
STACK = "/srv/stack"  # where the compose files are said to be

ANONYMOUS_DATA = (
    "service cache: volumes: /data: anonymous volume: its data is not carried over (the spec names a new volume cache-data); "
    "to keep it, `stateful capture` the running container instead"
)
MEDIA_DEFAULT = (
    "networks: compose put media_store, transcoder on its default network media_default, where services reach each other by name; "
    "their specs join network media_default for the same"
)
EXTERNAL_DATA = "volume data: external: stateful creates it, empty, if it is missing (compose refused to start without it)"
BLOG_DEFAULT = (
    "networks: compose put web, api, migrate, db on its default network blog_default, where services reach each other by name; "
    "their specs join network blog_default for the same"
)


def _load(name: str) -> Any:
    return YAML(typ="rt").load((FIXTURES / name).read_text(encoding="utf-8"))


class _AnyValue(dict[str, str]):
    """An environment in which every variable is set (to "1")."""

    def get(self, key: str, default: object = None) -> str:  # type: ignore[override]
        return "1"


def _interpolated(value: Any) -> Any:
    """What the spec loader validates: the document with every `${VAR}` interpolated."""
    if isinstance(value, dict):
        return {k: _interpolated(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolated(v) for v in value]
    return interpolate(value, _AnyValue()) if isinstance(value, str) else value


def _translate(compose: Any, project: str = "p") -> Translation:
    result = translate(compose, project=project, directory=STACK)
    for spec in result.specs:
        App.model_validate(_interpolated(spec))  # every document is one the spec accepts
        keys = list(spec)
        assert keys == [k for k in CANONICAL_ORDER if k in spec], f"{spec['name']}: keys out of order: {keys}"
    return result


SHOP_SPECS = [
    {
        "apiVersion": "stateful/v1",
        "kind": "App",
        "name": "shop-db",
        "image": "mariadb:11.4",
        "env": {"MARIADB_ROOT_PASSWORD": "${DB_ROOT_PASSWORD:?set DB_ROOT_PASSWORD}", "MARIADB_DATABASE": "shop", "MARIADB_AUTO_UPGRADE": "1"},
        "ports": ["127.0.0.1:3306:3306"],
        "volumes": {
            "mysql": {"target": "/var/lib/mysql", "name": "shop_dbdata"},
            "conf_d": {"target": "/etc/mysql/conf.d", "bind": "/srv/stack/conf", "read_only": True},
            "backups": {"target": "/backups", "name": "backups"},
        },
        "network": {"name": "shop_backend", "aliases": ["db", "mysql"]},
        "restart": "unless-stopped",
        "healthcheck": {
            "test": ["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"],
            "interval": "10s",
            "timeout": "5s",
            "retries": 5,
            "start_period": "1m30s",
        },
        "stop_grace_period": "1m",
    },
    {
        "apiVersion": "stateful/v1",
        "kind": "App",
        "name": "cache",
        "image": "redis:7",
        "command": "redis-server --appendonly yes",
        "volumes": {"data": {"target": "/data"}},
        "network": "shop_backend",
        "restart": "always",
    },
    {
        "apiVersion": "stateful/v1",
        "kind": "App",
        "name": "app",
        "image": "shop/app:1.2",
        "env": {"DB_HOST": "db", "REDIS_URL": "redis://cache:6379"},
        "env_file": ["/srv/stack/.env"],
        "ports": ["8080:80", "0.0.0.0:8443:443", "5353:5353/udp"],
        "networks": ["shop-public", "shop_backend"],
        "depends_on": ["shop-db", "cache"],
        "restart": "on-failure:3",
    },
]
SHOP_REPORT = [
    "volume backups: external: stateful creates it, empty, if it is missing (compose refused to start without it)",
    ANONYMOUS_DATA,
    "service app: build: not translated (stateful runs images; build and tag it first)",
    "service app: environment: DEBUG: not translated (no value: compose takes it from its own environment; set it in env: or an env_file)",
    "service app: ports: '9000-9001:9000-9001': port ranges not translated (list each port)",
    "service web: skipped: it has build: but no image: (stateful runs images; build and tag it first)",
]

MEDIA_SPECS = [
    {
        "apiVersion": "stateful/v1",
        "kind": "App",
        "name": "media_store",
        "image": "busybox:1.36",
        "command": ["sleep", "infinity"],
        "volumes": {
            "media": {"target": "/media", "name": "media-library"},
            "export": {"target": "/export", "bind": "/srv/export", "read_only": True, "create": False},
            "scratch": {"target": "/scratch", "tmpfs": {"size": "64m"}},
            "run": {"target": "/run", "tmpfs": {"size": "16m", "mode": "1777"}},
            "tmp": {"target": "/tmp", "tmpfs": {}},
        },
        "shared_volumes": ["media"],
        "network": {"name": "media_default", "aliases": ["store"]},
    },
    {
        "apiVersion": "stateful/v1",
        "kind": "App",
        "name": "worker",
        "image": "busybox:1.36",
        "command": ["while true; do sleep 1; done"],
        "entrypoint": "/bin/sh -c",
        "volumes": {"in": {"target": "/in", "name": "media-library"}, "cache": {"target": "/cache", "bind": "${HOME}/cache"}},
        "volumes_from": ["media_store:ro"],
        "shared_volumes": ["in"],
        "resources": {"memory": "512m", "cpus": 0.5},
        "user": "1000",
        "labels": {"team": "media"},
    },
    {
        "apiVersion": "stateful/v1",
        "kind": "App",
        "name": "transcoder",
        "image": "jrottenberg/ffmpeg:6",
        "volumes": {"media": {"target": "/media", "name": "media-library"}},
        "shared_volumes": ["media"],
        "network": "media_default",
        "depends_on": ["media_store"],
        "restart": "no",
        "healthcheck": {"disable": True},
        "stop_grace_period": "90s",
        "resources": {"memory": "1g", "cpus": 1.5},
    },
]
MEDIA_REPORT = [
    "service store: name: 'Media_Store' is not a valid app name; written as 'media_store'",
    "volume media: labels: not translated",
    "service store: tmpfs: /tmp: noexec not translated",
    "service worker: volumes: /cache: ~/cache written as ${HOME}/cache (the home directory of whoever runs stateful)",
    "service worker: volumes_from: container:legacy-box: not translated (stateful mounts the volumes of apps, not of containers)",
    "service worker: deploy.resources.reservations: not translated",
    "service worker: deploy.restart_policy: not translated (set restart: instead)",
    "service worker: labels: io.stateful.app: not translated (the io.stateful. prefix is reserved)",
    "service worker: network_mode: host: not translated (not supported)",
    "service worker: privileged: not translated",
    "service worker: cap_add: not translated",
    "service transcoder: logging: not translated",
    MEDIA_DEFAULT,
    "restart: compose does not restart media_store, worker (no restart:); their specs get stateful's default, unless-stopped",
]

BLOG_SPECS = [
    {
        "apiVersion": "stateful/v1",
        "kind": "App",
        "name": "db",
        "image": "postgres:16",
        "env": {"POSTGRES_PASSWORD": "secret", "POSTGRES_DB": "blog"},
        "volumes": {"data": {"target": "/var/lib/postgresql/data", "name": "blog_pgdata"}},
        "network": "blog_default",
        "healthcheck": {"test": "pg_isready -U postgres", "interval": "5s"},
    },
    {
        "apiVersion": "stateful/v1",
        "kind": "App",
        "name": "migrate",
        "image": "example/api:2",
        "command": ["migrate", "--yes"],
        "network": "blog_default",
        "depends_on": ["db"],
    },
    {"apiVersion": "stateful/v1", "kind": "App", "name": "api", "image": "example/api:2", "network": "blog_default", "depends_on": ["db", "migrate"]},
    {
        "apiVersion": "stateful/v1",
        "kind": "App",
        "name": "web",
        "image": "nginx:1.27",
        "ports": ["80:80"],
        "network": "blog_default",
        "depends_on": ["api"],
    },
]
WIKI_SPECS = [
    {
        "apiVersion": "stateful/v1",
        "kind": "App",
        "name": "db",
        "image": "postgres:16",
        "env": {"POSTGRES_USER": "wiki", "POSTGRES_DB": "wiki"},
        "env_file": ["/srv/stack/db.env"],
        "volumes": {"data": {"target": "/var/lib/postgresql/data", "name": "wiki_pgdata"}},
        "network": "wiki_default",
        "restart": "unless-stopped",
        "healthcheck": {"test": ["CMD-SHELL", "pg_isready -U wiki -d wiki"], "interval": "5s", "timeout": "5s", "retries": 10},
    },
    {
        "apiVersion": "stateful/v1",
        "kind": "App",
        "name": "analytics",
        "image": "postgres:16-alpine",
        "env": {"POSTGRES_PASSWORD": "${ANALYTICS_PASSWORD:?set ANALYTICS_PASSWORD}", "PGDATA": "/var/lib/postgresql/data/pgdata"},
        "volumes": {"data": {"target": "/var/lib/postgresql/data", "bind": "/srv/stack/analytics-data"}},
        "network": "wiki_default",
        "restart": "always",
    },
]
WIKI_REPORT = [
    "networks: compose put db, analytics on its default network wiki_default, where services reach each other by name; "
    "their specs join network wiki_default for the same",
]
BLOG_REPORT = [
    "service api: depends_on.migrate: condition service_completed_successfully not translated (stateful waits for migrate to be healthy)",
    "service api: depends_on.migrate: restart: true not translated",
    BLOG_DEFAULT,
    "restart: compose does not restart web, api, migrate, db (no restart:); their specs get stateful's default, unless-stopped",
]


@pytest.mark.parametrize(
    ("fixture", "project", "specs", "report"),
    [
        ("shop.yaml", "shop", SHOP_SPECS, SHOP_REPORT),
        ("media.yaml", "media", MEDIA_SPECS, MEDIA_REPORT),
        ("blog.yaml", "blog", BLOG_SPECS, BLOG_REPORT),
        ("wiki.yaml", "wiki", WIKI_SPECS, WIKI_REPORT),
    ],
    ids=["mariadb-redis-app", "volumes_from-tmpfs-resources", "dependency-order-defaults", "postgres-volume-bind-env_file"],
)
def test_compose_file(fixture: str, project: str, specs: list[dict[str, Any]], report: list[str]) -> None:
    result = _translate(_load(fixture), project)
    assert result.specs == specs
    assert result.report == report


def _service(service: dict[str, Any], **top: Any) -> tuple[dict[str, Any], list[str]]:
    """Translate one service `s` (image busybox unless given); its spec and its own report lines."""
    others = top.pop("others", {})
    compose = {"services": {"s": {"image": "busybox", **service}, **others}, **top}
    result = _translate(compose)
    spec = next(s for s in result.specs if s["image"] == compose["services"]["s"]["image"])
    return spec, [line for line in result.report if not line.startswith(("networks: compose put", "restart: compose does not"))]


# (id, the service's compose keys, top-level keys, the spec fields expected (None: absent), the report lines expected)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any], list[str]]] = [
    # ports
    ("port container only", {"ports": [3306, "3306"]}, {}, {"ports": ["3306", "3306"]}, []),
    (
        "port ip and host",
        {"ports": ["127.0.0.1:3306:3306", "8080:80/udp", "127.0.0.1::53"]},
        {},
        {"ports": ["127.0.0.1:3306:3306", "8080:80/udp", "127.0.0.1::53"]},
        [],
    ),
    ("port ipv6", {"ports": ["[::1]:6379:6379"]}, {}, {"ports": ["[::1]:6379:6379"]}, []),
    (
        "port long syntax",
        {"ports": [{"target": 80, "published": 8080, "host_ip": "::1", "protocol": "tcp", "mode": "host"}, {"target": 53, "protocol": "udp"}]},
        {},
        {"ports": ["[::1]:8080:80", "53/udp"]},
        [],
    ),
    (
        "port ranges",
        {"ports": ["3000-3005", {"target": 80, "published": "8080-8081"}]},
        {},
        {"ports": None},
        [
            "service s: ports: '3000-3005': port ranges not translated (list each port)",
            "service s: ports: '8080-8081:80': port ranges not translated (list each port)",
        ],
    ),
    (
        "port out of range",
        {"ports": ["70000:80"]},
        {},
        {"ports": None},
        ["service s: ports: not translated: '70000:80': port 70000 is out of range 1-65535"],
    ),
    ("port variable kept", {"ports": ["${DB_PORT:-3306}:3306"]}, {}, {"ports": ["${DB_PORT:-3306}:3306"]}, []),
    # environment and env files
    ("env list", {"environment": ["A=1", "B=", "C=x=y"]}, {}, {"env": {"A": "1", "B": "", "C": "x=y"}}, []),
    (
        "env mapping scalars",
        {"environment": {"N": 3, "F": 1.5, "T": True, "OFF": False, "S": "${X:-y}"}},
        {},
        {"env": {"N": "3", "F": "1.5", "T": "true", "OFF": "false", "S": "${X:-y}"}},
        [],
    ),
    (
        "env without value",
        {"environment": {"TOKEN": None}},
        {},
        {"env": None},
        ["service s: environment: TOKEN: not translated (no value: compose takes it from its own environment; set it in env: or an env_file)"],
    ),
    (
        "env_file forms",
        {"env_file": ["./a.env", {"path": "./b.env"}, {"path": "./c.env", "required": False}]},
        {},
        {"env_file": ["/srv/stack/a.env", "/srv/stack/b.env", "/srv/stack/c.env"]},
        ["service s: env_file: ./c.env: required: false not translated (the spec needs the file to exist)"],
    ),
    ("env_file string", {"env_file": "db.env"}, {}, {"env_file": ["/srv/stack/db.env"]}, []),
    # volumes
    ("pwd-relative bind", {"volumes": ["${PWD}/data:/data"]}, {}, {"volumes": {"data": {"target": "/data", "bind": "${PWD}/data"}}}, []),
    (
        "volume named with project prefix",
        {"volumes": ["data:/data"]},
        {"volumes": {"data": None}},
        {"volumes": {"data": {"target": "/data", "name": "p_data"}}},
        [],
    ),
    (
        "volume named by name:",
        {"volumes": ["data:/data:ro"]},
        {"volumes": {"data": {"name": "legacy_data"}}},
        {"volumes": {"data": {"target": "/data", "name": "legacy_data", "read_only": True}}},
        [],
    ),
    (
        "volume external",
        {"volumes": ["data:/data"]},
        {"volumes": {"data": {"external": True}}},
        {"volumes": {"data": {"target": "/data", "name": "data"}}},
        [EXTERNAL_DATA],
    ),
    (
        "volume external with old name form",
        {"volumes": ["data:/data"]},
        {"volumes": {"data": {"external": {"name": "old"}}}},
        {"volumes": {"data": {"target": "/data", "name": "old"}}},
        [EXTERNAL_DATA],
    ),
    (
        "volume driver options",
        {"volumes": ["nfs:/srv"]},
        {"volumes": {"nfs": {"driver": "local", "driver_opts": {"type": "nfs", "o": "addr=10.0.0.5", "device": ":/x"}}}},
        {
            "volumes": {
                "srv": {"target": "/srv", "name": "p_nfs", "driver": "local", "driver_opts": {"type": "nfs", "o": "addr=10.0.0.5", "device": ":/x"}}
            }
        },
        [],
    ),
    (
        "volume undeclared",
        {"volumes": ["data:/data"]},
        {},
        {"volumes": {"data": {"target": "/data", "name": "p_data"}}},
        ["service s: volumes: data is not declared under the top-level volumes:; taken as volume p_data"],
    ),
    (
        "binds relative and absolute",
        {"volumes": ["./conf:/etc/app:ro", "../shared:/shared", "/srv/db:/var/lib/db"]},
        {},
        {
            "volumes": {
                "app": {"target": "/etc/app", "bind": "/srv/stack/conf", "read_only": True},
                "shared": {"target": "/shared", "bind": "/srv/shared"},
                "db": {"target": "/var/lib/db", "bind": "/srv/db"},
            }
        },
        [],
    ),
    (
        "bind from a variable",
        {"volumes": ["${DATA_DIR:-./data}:/data"]},
        {},
        {"volumes": {"data": {"target": "/data", "bind": "${DATA_DIR:-./data}"}}},
        ["service s: volumes: /data: source ${DATA_DIR:-./data} is a variable; taken as a host path (bind mount), not a named volume; "
         "give it an absolute value (a relative one resolves against the spec's folder, not the compose file's)"],
    ),
    (
        "volume mode options",
        {"volumes": ["./a:/a:ro,z", "./b:/b:rw,cached"]},
        {},
        {"volumes": {"a": {"target": "/a", "bind": "/srv/stack/a", "read_only": True}, "b": {"target": "/b", "bind": "/srv/stack/b"}}},
        ["service s: volumes: /a: option z not translated"],
    ),
    (
        "anonymous volumes",
        {"volumes": ["/var/lib/mysql", {"type": "volume", "target": "/data"}]},
        {},
        {"volumes": {"mysql": {"target": "/var/lib/mysql"}, "data": {"target": "/data"}}},
        [
            "service s: volumes: /var/lib/mysql: anonymous volume: its data is not carried over (the spec names a new volume s-mysql); "
            "to keep it, `stateful capture` the running container instead",
            "service s: volumes: /data: anonymous volume: its data is not carried over (the spec names a new volume s-data); "
            "to keep it, `stateful capture` the running container instead",
        ],
    ),
    (
        "long syntax options",
        {
            "volumes": [
                {"type": "bind", "source": "./x", "target": "/x", "bind": {"propagation": "rshared", "create_host_path": True}},
                {"type": "volume", "source": "v", "target": "/v", "volume": {"nocopy": True}},
                {"type": "npipe", "source": "//./pipe/docker_engine", "target": "/pipe"},
            ]
        },
        {"volumes": {"v": {}}},
        {"volumes": {"x": {"target": "/x", "bind": "/srv/stack/x"}, "v": {"target": "/v", "name": "p_v"}}},
        [
            "service s: volumes: /x: bind.propagation not translated",
            "service s: volumes: /v: volume.nocopy not translated",
            "service s: volumes: /pipe: type npipe not translated",
        ],
    ),
    (
        "volume keys unique",
        {"volumes": ["./a/data:/a/data", "./b/data:/b/data", "./root:/"]},
        {},
        {
            "volumes": {
                "data": {"target": "/a/data", "bind": "/srv/stack/a/data"},
                "data_2": {"target": "/b/data", "bind": "/srv/stack/b/data"},
                "root": {"target": "/", "bind": "/srv/stack/root"},
            }
        },
        [],
    ),
    (
        "tmpfs string and long",
        {"tmpfs": "/run", "volumes": [{"type": "tmpfs", "target": "/cache", "tmpfs": {"size": 1048576, "mode": 1777}}]},
        {},
        {"volumes": {"cache": {"target": "/cache", "tmpfs": {"size": 1048576, "mode": 1777}}, "run": {"target": "/run", "tmpfs": {}}}},
        [],
    ),
    (
        "tmpfs options",
        {"tmpfs": ["/run:size=64m,uid=999,nosuid"]},
        {},
        {"volumes": {"run": {"target": "/run", "tmpfs": {"size": "64m"}}}},
        ["service s: tmpfs: /run: uid=999, nosuid not translated"],
    ),
    # volumes_from and depends_on, to other services
    (
        "volumes_from services",
        {"volumes_from": ["seed", "seed2:rw", "gone", "draft:ro"]},
        {"others": {"seed": {"image": "a"}, "seed2": {"image": "b", "container_name": "Seed-Two"}, "draft": {"build": "."}}},
        {"volumes_from": ["seed", "seed-two"]},
        [
            "service s: volumes_from: gone: not translated (no such service)",
            "service s: volumes_from: draft: not translated (it was skipped)",
            "service seed2: name: 'Seed-Two' is not a valid app name; written as 'seed-two'",
            "service draft: skipped: it has build: but no image: (stateful runs images; build and tag it first)",
        ],
    ),
    ("depends_on list", {"depends_on": ["db"]}, {"others": {"db": {"image": "mariadb"}}}, {"depends_on": ["db"]}, []),
    (
        "depends_on conditions",
        {"depends_on": {"db": {"condition": "service_healthy"}, "cache": {"condition": "service_started", "required": False}}},
        {"others": {"db": {"image": "mariadb"}, "cache": {"image": "redis", "container_name": "redis1"}}},
        {"depends_on": ["db", "redis1"]},
        ["service s: depends_on.cache: required: false not translated (stateful always applies cache first)"],
    ),
    # healthcheck, restart, grace, user, labels, command
    (
        "healthcheck string test",
        {"healthcheck": {"test": "curl -f http://localhost/", "retries": "3", "start_interval": "1s"}},
        {},
        {"healthcheck": {"test": "curl -f http://localhost/", "retries": 3}},
        ["service s: healthcheck.start_interval: not translated"],
    ),
    (
        "healthcheck CMD-SHELL list",
        {"healthcheck": {"test": ["CMD-SHELL", "redis-cli ping | grep PONG"], "timeout": "2s"}},
        {},
        {"healthcheck": {"test": ["CMD-SHELL", "redis-cli ping | grep PONG"], "timeout": "2s"}},
        [],
    ),
    ("healthcheck NONE", {"healthcheck": {"test": ["NONE"]}}, {}, {"healthcheck": {"disable": True}}, []),
    ("restart no as YAML 1.1 false", {"restart": False}, {}, {"restart": "no"}, []),
    ("restart on-failure", {"restart": "on-failure"}, {}, {"restart": "on-failure"}, []),
    ("restart invalid", {"restart": "sometimes"}, {}, {"restart": None}, ["service s: restart: 'sometimes' is not a restart policy; not translated"]),
    ("grace and user", {"stop_grace_period": "1m30s", "user": "999:999"}, {}, {"stop_grace_period": "1m30s", "user": "999:999"}, []),
    ("labels mapping", {"labels": {"a": "1", "b": None, "n": 2}}, {}, {"labels": {"a": "1", "b": "", "n": "2"}}, []),
    ("labels list", {"labels": ["a=1", "flag"]}, {}, {"labels": {"a": "1", "flag": ""}}, []),
    (
        "command and entrypoint lists",
        {"command": ["--port", 6380], "entrypoint": ["docker-entrypoint.sh"]},
        {},
        {"command": ["--port", "6380"], "entrypoint": ["docker-entrypoint.sh"]},
        [],
    ),
    # resources
    ("resources from service keys", {"mem_limit": "512m", "cpus": "0.5"}, {}, {"resources": {"memory": "512m", "cpus": 0.5}}, []),
    ("resources bytes", {"mem_limit": 1073741824}, {}, {"resources": {"memory": 1073741824}}, []),
    (
        "resources from deploy",
        {"deploy": {"resources": {"limits": {"memory": "2g", "cpus": 2, "pids": 100}}, "replicas": 2}},
        {},
        {"resources": {"memory": "2g", "cpus": 2.0}},
        ["service s: deploy.resources.limits.pids: not translated", "service s: deploy.replicas: not translated"],
    ),
    (
        "service keys win over deploy",
        {"mem_limit": "1g", "deploy": {"resources": {"limits": {"memory": "1g", "cpus": "0.25"}}}},
        {},
        {"resources": {"memory": "1g", "cpus": 0.25}},
        [],
    ),
    # names
    ("container_name", {"container_name": "legacy.db-1"}, {}, {"name": "legacy.db-1", "network": {"name": "p_default", "aliases": ["s"]}}, []),
    (
        "name lower-cased",
        {"container_name": "My DB"},
        {},
        {"name": "my-db"},
        ["service s: name: 'My DB' is not a valid app name; written as 'my-db'"],
    ),
    (
        "container_name keeps its name on a clash",
        {"container_name": "other"},
        {"others": {"other": {"image": "x"}}},
        {"name": "other"},
        ["service other: name: 'other' is taken; written as 'other-2'"],
    ),
    # networks
    ("networks default renamed", {}, {"networks": {"default": {"name": "legacy-net"}}}, {"network": "legacy-net"}, []),
    ("networks external", {"networks": ["edge"]}, {"networks": {"edge": {"external": True}}}, {"network": "edge"}, []),
    (
        "networks options",
        {"networks": {"back": {"aliases": ["db"], "ipv4_address": "172.20.0.5"}}},
        {"networks": {"back": {"driver": "bridge", "ipam": {"config": [{"subnet": "172.20.0.0/16"}]}, "internal": True}}},
        {"network": {"name": "p_back", "aliases": ["db"]}},
        [
            "service s: networks.back.ipv4_address: not translated",
            "network back: ipam, internal: not translated (stateful creates a plain bridge network if it is missing)",
        ],
    ),
    (
        "several networks, each with its aliases, the service name on every one",
        {"container_name": "immich_db", "networks": {"back": {"aliases": ["database"]}, "front": None}},
        {"networks": {"back": {}, "front": {"external": True, "name": "proxy"}}},
        {"network": None, "name": "immich_db", "networks": [{"name": "p_back", "aliases": ["s", "database"]}, {"name": "proxy", "aliases": ["s"]}]},
        [],
    ),
    ("network_mode bridge", {"network_mode": "bridge"}, {}, {"network": None}, []),
    (
        "network_mode service",
        {"network_mode": "service:vpn"},
        {},
        {"network": None},
        ["service s: network_mode: service:vpn: not translated (not supported)"],
    ),
    # secrets: file secrets are mounted where compose mounts them, their files referenced at absolute paths
    (
        "file secrets",
        {"secrets": ["db_pw", {"source": "api_key", "target": "key.txt", "mode": 0o400}, {"source": "cert", "target": "/etc/cert.pem"}]},
        {"secrets": {"db_pw": {"file": "./secrets/db_pw.txt"}, "api_key": {"file": "../keys/api"}, "cert": {"file": "/etc/ssl/c.pem"}}},
        {
            "secrets": {
                "db_pw": {"file": "/srv/stack/secrets/db_pw.txt"},
                "api_key": {"file": "/srv/keys/api", "target": "/run/secrets/key.txt"},
                "cert": {"file": "/etc/ssl/c.pem", "target": "/etc/cert.pem"},
            }
        },
        ["service s: secrets.api_key.mode: not translated (the file is mounted read-only as it is)"],
    ),
    (
        "secrets that are not files",
        {"secrets": ["from_env", "outside", "missing"]},
        {"secrets": {"from_env": {"environment": "TOKEN"}, "outside": {"external": True}}},
        {"secrets": None},
        [
            "service s: secrets: from_env: not translated (only file secrets are)",
            "service s: secrets: outside: not translated (only file secrets are)",
            "service s: secrets: missing: not translated (it is not declared under the top-level secrets:)",
        ],
    ),
    # host paths: compose resolves them against the compose file's folder; the spec would use its own
    (
        "relative host paths are written absolute",
        {"volumes": ["./postgres14:/var/lib/postgresql/data", {"type": "bind", "source": "data", "target": "/data"}],
         "env_file": ["../mysql.env"]},
        {},
        {
            "volumes": {
                "data": {"target": "/var/lib/postgresql/data", "bind": "/srv/stack/postgres14"},
                "data_2": {"target": "/data", "bind": "/srv/stack/data"},
            },
            "env_file": ["/srv/mysql.env"],
        },
        [],
    ),
    ("an empty IP publishes on every address", {"ports": [":2283:2283"]}, {}, {"ports": [":2283:2283"]}, []),
    # everything else
    ("settings left at their defaults", {"privileged": False, "cap_add": [], "init": None}, {}, {}, []),
    (
        "untranslated keys",
        {"hostname": "db1", "extra_hosts": ["a:1.2.3.4"], "expose": [3306], "profiles": ["debug"], "x-note": 1},
        {},
        {},
        [f"service s: {key}: not translated" for key in ("hostname", "extra_hosts", "expose", "profiles")],
    ),
    (
        "build with image",
        {"image": "me/app:1", "build": {"context": "."}},
        {},
        {"image": "me/app:1"},
        ["service s: build: not translated (stateful runs images; build and tag it first)"],
    ),
    (
        "file-level notes",
        {},
        {"name": "other", "include": ["base.yaml"]},
        {},
        [
            "name: the file names project 'other'; volumes and networks are named for project 'p'",
            "include: not translated (translate each included file on its own)",
        ],
    ),
]


@pytest.mark.parametrize(("service", "top", "fields", "report"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_service(service: dict[str, Any], top: dict[str, Any], fields: dict[str, Any], report: list[str]) -> None:
    spec, lines = _service(service, **top)
    assert {key: spec.get(key) for key in fields} == fields
    assert lines == report


@pytest.mark.parametrize(
    ("services", "report"),
    [
        ({"web": {"build": "."}}, ["service web: skipped: it has build: but no image: (stateful runs images; build and tag it first)"]),
        ({"odd": {"command": "true"}}, ["service odd: skipped: it has no image:"]),
    ],
)
def test_services_without_an_image_are_skipped(services: dict[str, Any], report: list[str]) -> None:
    assert translate({"services": services}, project="p", directory=STACK) == Translation(specs=[], report=report)


def test_shared_sources_only_when_written_by_several_apps() -> None:
    compose = {
        "services": {
            "a": {"image": "x", "volumes": ["data:/data", "./dir:/dir", "./conf:/conf"]},
            "b": {"image": "x", "volumes": ["data:/in", "./dir/:/dir", "./conf:/conf:ro"]},
        },
        "volumes": {"data": None},
    }
    specs = _translate(compose).specs
    assert [s.get("shared_volumes") for s in specs] == [["data", "dir"], ["in", "dir"]]


def test_dependency_order_follows_volumes_from_and_keeps_file_order_otherwise() -> None:
    compose = {"services": {"z": {"image": "x", "volumes_from": ["m"]}, "y": {"image": "x"}, "m": {"image": "x", "depends_on": ["y"]}}}
    assert [s["name"] for s in _translate(compose).specs] == ["y", "m", "z"]


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("/data", ["/data"]),
        ("data:/data:ro", ["data", "/data", "ro"]),
        ("${DATA:-./data}:/data", ["${DATA:-./data}", "/data"]),
        ("${A:-x}/${B:?need b}:/t:ro", ["${A:-x}/${B:?need b}", "/t", "ro"]),
    ],
)
def test_split_colons(text: str, parts: list[str]) -> None:
    assert split_colons(text) == parts


@pytest.mark.parametrize(
    ("compose", "directory", "project"),
    [({}, "/srv/My Shop", "myshop"), ({"name": "Shop_2"}, "/srv/x", "shop_2"), ({}, "/srv/-web.app/", "webapp")],
)
def test_project_name(compose: dict[str, Any], directory: str, project: str) -> None:
    assert project_name(compose, directory) == project


def test_project_is_normalised_as_compose_does() -> None:
    compose = {"services": {"db": {"image": "x", "volumes": ["d:/d"]}}, "volumes": {"d": None}}
    assert translate(compose, project="My.Shop", directory=STACK).specs[0]["volumes"]["d"]["name"] == "myshop_d"
    with pytest.raises(ValueError, match="empty compose project name"):
        translate(compose, project="__", directory=STACK)


@pytest.mark.parametrize(
    ("text", "name"), [("db", "db"), ("My_DB", "my_db"), ("_x", "x"), ("a/b", "a-b"), ("a.stateful-new", "a-stateful-new"), ("--", "app")]
)
def test_app_name(text: str, name: str) -> None:
    assert app_name(text) == name


@pytest.mark.parametrize(
    ("target", "key"), [("/var/lib/mysql", "mysql"), ("/data", "data"), ("/etc/mysql/conf.d", "conf_d"), ("/srv/Data/", "data"), ("/", "root")]
)
def test_volume_key(target: str, key: str) -> None:
    assert volume_key(target, {}) == key


def test_module_is_pure() -> None:
    """No Docker, no click, no engine or service layer: importing it pulls in none of them."""
    code = (
        "import sys, orchestrate.tools.compose_import; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('docker', 'click') "
        "or m.startswith(('orchestrate.backends', 'orchestrate.runs.pipeline'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2])
    assert out.stdout.strip() == "[]"


def test_relative_host_paths_are_the_compose_files_made_absolute() -> None:
    """Compose reads `./analytics-data` and `db.env` beside the compose file; written absolute, the bind is
    the data compose left wherever the spec goes (not a new empty dir the database would initialise)."""
    specs = {s["name"]: s for s in translate(_load("wiki.yaml"), project="wiki", directory="/srv/wiki").specs}
    assert specs["analytics"]["volumes"]["data"]["bind"] == "/srv/wiki/analytics-data"
    assert specs["db"]["env_file"] == ["/srv/wiki/db.env"]


def test_absolute_home_and_variable_paths_are_not_rebased() -> None:
    compose = {"services": {"s": {"image": "busybox", "env_file": ["/etc/s.env"], "volumes": ["/srv/a:/a", "~/b:/b", "${DIR}:/c"]}}}
    spec = translate(compose, project="p", directory="/srv/p").specs[0]
    assert [v["bind"] for v in spec["volumes"].values()] == ["/srv/a", "${HOME}/b", "${DIR}"]
    assert spec["env_file"] == ["/etc/s.env"]


@pytest.mark.parametrize("fixture", ["shop.yaml", "media.yaml", "blog.yaml", "wiki.yaml"])
def test_the_specs_load_as_one_set(fixture: str, tmp_path: Path) -> None:
    """Written out as files, the documents pass the spec loader's cross-document rules (references, shared sources)."""
    specs = translate(_load(fixture), project=fixture.removesuffix(".yaml"), directory=str(tmp_path)).specs
    out = tmp_path / "specs.yaml"
    YAML().dump_all(specs, out)
    (tmp_path / ".env").write_text("SHOP_MODE=prod\n", encoding="utf-8")
    (tmp_path / "db.env").write_text("POSTGRES_PASSWORD=pw\n", encoding="utf-8")
    desired = load([tmp_path], {"DB_ROOT_PASSWORD": "pw", "ANALYTICS_PASSWORD": "pw", "HOME": "/home/op"})
    assert sorted(a.name for a in desired) == sorted(s["name"] for s in specs)
    named = {(a.name, m.target): m.source for a in desired for m in a.mounts if m.kind == "volume" and m.owner_app == a.name}
    expected = {(s["name"], v["target"]): v["name"] for s in specs for v in s.get("volumes", {}).values() if "name" in v}
    assert {k: v for k, v in named.items() if k in expected} == expected  # the data compose left is the data the specs name


STACK_FILE = """services:
  db:
    image: mariadb:11.4
    environment:
      MARIADB_ROOT_PASSWORD: ${DB_PASSWORD}
    env_file: ../shared.env
    secrets: [db_pw]
    volumes:
      - ./mysql:/var/lib/mysql
      - cache:/cache
secrets:
  db_pw:
    file: ./db_pw.txt
volumes:
  cache:
"""


def test_import_cli_specs_elsewhere_apply_to_the_data_compose_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Specs written into another folder name compose's folders, files and project; `.env` is named, never copied."""
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "compose.yaml").write_text(STACK_FILE, encoding="utf-8")
    (stack / ".env").write_text("COMPOSE_PROJECT_NAME=mystack\nDB_PASSWORD=hunter2\n", encoding="utf-8")
    (stack / "db_pw.txt").write_text("s3cret\n", encoding="utf-8")
    (tmp_path / "shared.env").write_text("TZ=UTC\n", encoding="utf-8")
    monkeypatch.delenv("COMPOSE_PROJECT_NAME", raising=False)
    specs = tmp_path / "elsewhere" / "specs"
    with pytest.raises(SystemExit) as done:
        main(["import", "--into", str(specs), str(stack / "compose.yaml")])
    err = capsys.readouterr().err
    assert done.value.code == 0
    assert f"`stateful --env-file {stack}/.env apply {specs}`" in err
    assert "hunter2" not in (specs / "db.yaml").read_text(encoding="utf-8")
    (app,) = load([specs], {"DB_PASSWORD": "hunter2"})
    sources = {m.target: m.source for m in app.mounts}
    assert sources == {"/var/lib/mysql": f"{stack}/mysql", "/cache": "mystack_cache", "/run/secrets/db_pw": f"{stack}/db_pw.txt"}
    assert (app.env["MARIADB_ROOT_PASSWORD"], app.env["TZ"]) == ("hunter2", "UTC")
