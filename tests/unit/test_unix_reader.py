"""The engine socket reader against a small HTTP server on a unix socket, answering as the engine
can: with a Content-Length, chunked, or a body ended by closing; errors; a kept-alive connection
the server drops between requests. And the thread helper the snapshot reads with."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestrate.backends.docker.unix_reader import UnixReader
from orchestrate.backends.parallel import in_parallel
from orchestrate.errors import EngineError, EngineUnreachable, NotFoundError, TransientEngineError

Answer = Callable[[str], tuple[bytes, bool]]  # request line -> (raw response, close afterwards)


def _fixed(status: str, body: bytes, headers: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body


def _chunked(body: bytes, size: int) -> bytes:
    chunks = b"".join(f"{len(body[i : i + size]):x}\r\n".encode() + body[i : i + size] + b"\r\n" for i in range(0, len(body), size))
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"


class Server:
    """Answers each request on a connection with `answer`; counts connections and requests."""

    def __init__(self, path: Path, answer: Answer) -> None:
        self.path, self.answer = path, answer
        self.connections = self.requests = 0
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as stream:
            while request := stream.readline():
                while stream.readline() not in (b"\r\n", b""):
                    pass
                self.requests += 1
                raw, close = self.answer(request.decode().split()[1])
                conn.sendall(raw)
                if close:
                    return


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[Answer], tuple[UnixReader, Server]]]:
    servers: list[Server] = []

    def start(answer: Answer) -> tuple[UnixReader, Server]:
        server = Server(tmp_path / f"engine{len(servers)}.sock", answer)
        servers.append(server)
        return UnixReader(f"unix://{server.path}", "1.41"), server

    yield start
    for server in servers:
        server.listener.close()


DOC = {"Id": "abc", "Names": ["/db"], "Labels": {"io.stateful.managed": "true"}, "Text": "x" * 5000}
BODY = json.dumps(DOC).encode()

ANSWERS: dict[str, Answer] = {
    "content-length": lambda url: (_fixed("200 OK", BODY), False),
    "chunked, small chunks": lambda url: (_chunked(BODY, 7), False),
    "chunked, one chunk": lambda url: (_chunked(BODY, len(BODY)), False),
    "ended by closing": lambda url: (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + BODY, True),
    "connection: close": lambda url: (_fixed("200 OK", BODY, "Connection: close\r\n"), True),
}


@pytest.mark.parametrize("how", ANSWERS, ids=list(ANSWERS))
def test_every_way_the_engine_frames_a_body_reads_the_same_document(serve: Callable[..., tuple[UnixReader, Server]], how: str) -> None:
    reader, server = serve(ANSWERS[how])
    assert [reader.container("db") for _ in range(3)] == [DOC, DOC, DOC]
    assert server.requests == 3
    closes = how in ("ended by closing", "connection: close")
    assert server.connections == (3 if closes else 1)  # kept alive unless the engine closes


def test_the_request_names_the_api_version_and_quotes_the_reference(serve: Callable[..., tuple[UnixReader, Server]]) -> None:
    seen: list[str] = []
    reader, _ = serve(lambda url: (seen.append(url), (_fixed("200 OK", b"[]"), False))[1])
    reader.get("/containers/json", {"all": 1, "filters": '{"label":["a=b"]}'}, what="list")
    reader.image("registry.local:5000/db:11@sha256:ab")
    reader.container("odd/name")
    assert seen == [
        "/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D",
        "/v1.41/images/registry.local:5000/db:11@sha256:ab/json",
        "/v1.41/containers/odd%2Fname/json",
    ]


@pytest.mark.parametrize(
    ("status", "error"),
    [("404 Not Found", NotFoundError), ("500 Internal Server Error", TransientEngineError), ("409 Conflict", EngineError)],
)
def test_error_answers_become_our_errors_with_the_engines_message(
    serve: Callable[..., tuple[UnixReader, Server]], status: str, error: type[Exception]
) -> None:
    reader, _ = serve(lambda url: (_fixed(status, b'{"message":"No such container: db"}'), False))
    with pytest.raises(error, match="inspect container db: No such container: db"):
        reader.container("db")


def test_a_kept_alive_connection_dropped_by_the_engine_is_retried_once_on_a_fresh_one(serve: Callable[..., tuple[UnixReader, Server]]) -> None:
    # The server answers, then closes without saying so: the next request on that connection
    # finds it closed, and the reader opens a new one.
    reader, server = serve(lambda url: (_fixed("200 OK", BODY), True))
    assert reader.container("db") == DOC
    assert reader.container("db") == DOC
    assert server.connections == 2 and server.requests == 2


def test_no_engine_on_the_socket_is_unreachable_and_names_the_endpoint(tmp_path: Path) -> None:
    reader = UnixReader(f"unix://{tmp_path}/missing.sock", "1.41")
    with pytest.raises(EngineUnreachable, match=r"missing\.sock"):
        reader.container("db")


def test_an_engine_that_dies_mid_answer_is_unreachable_not_a_partial_document(serve: Callable[..., tuple[UnixReader, Server]]) -> None:
    reader, _ = serve(lambda url: (_fixed("200 OK", BODY)[:-100], True))
    with pytest.raises(EngineUnreachable):
        reader.container("db")


def test_in_parallel_keeps_the_order_and_uses_threads() -> None:
    threads: set[int] = set()
    barrier = threading.Barrier(4)

    def work(n: int) -> int:
        threads.add(threading.get_ident())
        if n < 4:
            barrier.wait(timeout=5)  # only passes when four calls run at the same time
        return n * n

    assert in_parallel(work, list(range(50)), workers=4) == [n * n for n in range(50)]
    assert len(threads) == 4


def test_in_parallel_raises_the_first_failure_and_stops_taking_work() -> None:
    done: list[int] = []

    def work(n: int) -> int:
        if n == 3:
            raise NotFoundError("gone")
        done.append(n)
        return n

    with pytest.raises(NotFoundError, match="gone"):
        in_parallel(work, list(range(1000)), workers=2)
    assert len(done) < 1000


@pytest.mark.parametrize("items", [[], [7]])
def test_in_parallel_with_nothing_to_share_runs_inline(items: list[int]) -> None:
    caller = threading.get_ident()
    assert in_parallel(lambda n: (n, threading.get_ident() == caller), items) == [(n, True) for n in items]
