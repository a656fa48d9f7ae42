"""A read-only JSON client for the engine's unix socket, on the standard library alone.

Observation is most of a no-op run: the list calls and the inspects. Over a local socket, plain
http.client with a kept-alive connection per thread costs a fraction of the SDK's per-request
work, and needs neither the SDK nor requests to be imported. Everything that changes the engine
still goes through the docker SDK.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from typing import Any
from urllib.parse import quote, urlencode

from orchestrate.errors import EngineError, EngineUnreachable, NotFoundError, TransientEngineError

TIMEOUT_S = 60.0


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=TIMEOUT_S)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT_S)
        sock.connect(self.unix_path)
        self.sock = sock


class UnixReader:
    def __init__(self, endpoint: str, api_version: str) -> None:
        self.endpoint = endpoint
        self.path = endpoint.removeprefix("unix://")
        self.prefix = f"/v{api_version}"
        self._local = threading.local()

    def get(self, path: str, params: dict[str, Any] | None = None, *, what: str) -> Any:
        url = self.prefix + path + (f"?{urlencode(params)}" if params else "")
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request("GET", url)
                response = connection.getresponse()
                body = response.read()
                break
            except (FileNotFoundError, ConnectionRefusedError, PermissionError) as exc:
                self._drop()
                raise EngineUnreachable(self.endpoint, exc.strerror or str(exc)) from None
            except (http.client.HTTPException, OSError) as exc:
                self._drop()  # a kept-alive connection the engine closed meanwhile: one fresh try
                if attempt == 2:
                    raise EngineUnreachable(self.endpoint, str(exc) or type(exc).__name__) from None
        return _decode(response.status, body, what)

    def container(self, ref: str) -> Any:
        return self.get(f"/containers/{quote(ref, safe='')}/json", what=f"inspect container {ref}")

    def image(self, ref: str) -> Any:
        return self.get(f"/images/{quote(ref, safe='/:@')}/json", what=f"inspect image {ref}")

    def _connection(self) -> _UnixConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = _UnixConnection(self.path)
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


def _decode(status: int, body: bytes, what: str) -> Any:
    if status == 404:
        raise NotFoundError(f"{what}: {_message(body)}")
    if status >= 500:
        raise TransientEngineError(f"{what}: {_message(body)}")
    if status >= 400:
        raise EngineError(f"{what}: {_message(body)}")
    return json.loads(body)


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message", ""))
    except (ValueError, AttributeError):
        return body.decode("utf-8", "replace")[:200]
