"""Port mappings: `[ip:][host:]container[/proto]`. Light on purpose: no pydantic here.

ASCII digits only (Python's `\\d` and `int()` take other scripts' digits too), and an IP must be
an address: an IPv4 one as is, an IPv6 one in brackets. An empty IP (`:2283:2283`) is every
address, as Compose reads it.
"""

from __future__ import annotations

import ipaddress
import re

PORT_SPEC = re.compile(
    r"^(?:(?:(?P<ip>\[[0-9a-fA-F:.]+\]|[0-9.]+)?:)?(?P<host>[0-9]{1,5})?:)?(?P<container>[0-9]{1,5})(?:/(?P<proto>tcp|udp|sctp))?\Z"
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
    ip = match.group("ip")
    if ip is not None:
        _check_ip(text, ip)


def _check_ip(text: str, ip: str) -> None:
    bracketed = ip.startswith("[")
    try:
        address = ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        raise ValueError(f"{text!r}: {ip} is not an IP address") from None
    if bracketed != (address.version == 6):
        raise ValueError(f"{text!r}: write an IPv6 address in brackets and an IPv4 one without")
