"""A read-only JSON client for the engine's unix socket, on sockets alone.

Observation is most of a no-op run: the list calls and the inspects. Over a local socket, a plain
HTTP/1.1 GET on a kept-alive connection per thread costs a fraction of the SDK's per-request work,
and needs neither the SDK, requests nor http.client (with its email and ssl imports, a tenth of a
no-op run's start-up) to be imported. The engine answers with a Content-Length, a chunked body, or
a body ended by closing the connection: all three are read. Everything that changes the engine
still goes through the docker SDK.
"""

from __future__ import annotations

import json
import socket
import threading
from typing import Any
from urllib.parse import quote, urlencode

from orchestrate.errors import EngineError, EngineUnreachable, NotFoundError, TransientEngineError

TIMEOUT_S = 60.0
MAX_HEADER_LINE = 64 * 1024


class _Closed(ConnectionError):
    """The engine closed a kept-alive connection before answering: worth one fresh try."""


class _Connection:
    """One HTTP/1.1 connection to the engine's socket, kept alive between requests."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT_S)
        self.sock.connect(path)
        self.stream = self.sock.makefile("rb")
        self.open = True

    def get(self, url: str) -> tuple[int, bytes]:
        self.sock.sendall(f"GET {url} HTTP/1.1\r\nHost: docker\r\nAccept: application/json\r\n\r\n".encode())
        status_line = self.stream.readline(MAX_HEADER_LINE)
        if not status_line:
            raise _Closed("the engine closed the connection")
        status = int(status_line.split(None, 2)[1])
        headers = self._headers()
        if status in (204, 304) or status < 200:
            body = b""  # answers without a body, whatever the headers say
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._chunked()
        elif "content-length" in headers:
            body = self._exactly(int(headers["content-length"]))
        else:
            body, self.open = self.stream.read(), False  # delimited by the engine closing
        if headers.get("connection", "").lower() == "close":
            self.open = False
        return status, body

    def close(self) -> None:
        self.open = False
        self.stream.close()
        self.sock.close()

    def _headers(self) -> dict[str, str]:
        headers = {}
        while (line := self.stream.readline(MAX_HEADER_LINE)) not in (b"\r\n", b"\n"):
            if not line:
                raise ConnectionError("the engine closed the connection in the middle of an answer")
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return headers

    def _chunked(self) -> bytes:
        parts = []
        while size := int(self.stream.readline(MAX_HEADER_LINE).split(b";")[0].strip() or b"0", 16):
            parts.append(self._exactly(size))
            self._exactly(2)  # the CRLF after each chunk
        while self.stream.readline(MAX_HEADER_LINE) not in (b"\r\n", b"\n", b""):
            pass  # trailers: none are used
        return b"".join(parts)

    def _exactly(self, size: int) -> bytes:
        data = self.stream.read(size)
        if len(data) != size:
            raise ConnectionError("the engine closed the connection in the middle of an answer")
        return data


class UnixReader:
    def __init__(self, endpoint: str, api_version: str) -> None:
        self.endpoint = endpoint
        self.path = endpoint.removeprefix("unix://")
        self.prefix = f"/v{api_version}"
        self._local = threading.local()

    def get(self, path: str, params: dict[str, Any] | None = None, *, what: str) -> Any:
        url = self.prefix + path + (f"?{urlencode(params)}" if params else "")
        for attempt in (1, 2):
            try:
                connection = self._connection()
                status, body = connection.get(url)
                if not connection.open:
                    self._drop()
                break
            except (FileNotFoundError, ConnectionRefusedError, PermissionError) as exc:
                self._drop()
                raise EngineUnreachable(self.endpoint, exc.strerror or str(exc)) from None
            except (OSError, ValueError, IndexError) as exc:
                self._drop()  # a kept-alive connection the engine closed meanwhile: one fresh try
                if attempt == 2:
                    raise EngineUnreachable(self.endpoint, str(exc) or type(exc).__name__) from None
        return _decode(status, body, what)

    def container(self, ref: str) -> Any:
        return self.get(f"/containers/{quote(ref, safe='')}/json", what=f"inspect container {ref}")

    def image(self, ref: str) -> Any:
        return self.get(f"/images/{quote(ref, safe='/:@')}/json", what=f"inspect image {ref}")

    def _connection(self) -> _Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = _Connection(self.path)
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
