"""Port mappings: `[ip:][host:]container[/proto]`. Light on purpose: no pydantic here."""

from __future__ import annotations

import re

PORT_SPEC = re.compile(
    r"^(?:(?:(?P<ip>\[[0-9a-fA-F:]+\]|[0-9.]+):)?(?P<host>\d+)?:)?(?P<container>\d+)(?:/(?P<proto>tcp|udp|sctp))?$"
)


def check_port(text: str) -> None:
    """Raise ValueError unless `text` is `[ip:][host:]container[/proto]` with ports in 1..65535."""
    match = PORT_SPEC.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a port mapping (expected [ip:][host:]container[/tcp|udp])")
    for group in ("host", "container"):
        port = match.group(group)
        if port is not None and not 1 <= int(port) <= 65535:
            raise ValueError(f"{text!r}: port {port} is out of range 1-65535")
