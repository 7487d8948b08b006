"""Listening addresses for the front ends that open a port (``codekin serve --tcp``, ``codekin worker``).

Both refuse an address beyond loopback unless told otherwise, so both ask the one question here: does
this host name only this machine?
"""

from __future__ import annotations

import ipaddress
import socket

WILDCARDS = ("", "*", "0.0.0.0", "::")
"""Every interface: never loopback."""


def bare_host(host: str) -> str:
    """``[::1]`` → ``::1`` (the bracketed form is for URLs; sockets want the bare address)."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    return host


def _loopback_ip(text: str) -> bool | None:
    """True or False for an address literal (IPv4-mapped IPv6 included), None for a name."""
    try:
        address = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_loopback(host: str) -> bool:
    """True only when every address ``host`` names is a loopback address.

    ``127.0.0.1``, any ``127.x.x.x``, ``::1``, ``[::1]`` and ``localhost`` are; ``''``, ``*``,
    ``0.0.0.0`` and ``::`` (every interface) are not, nor is a name that does not resolve.
    """
    name = bare_host(host)
    if name in WILDCARDS:
        return False
    literal = _loopback_ip(name)
    if literal is not None:
        return literal
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        return False
    return bool(infos) and all(_loopback_ip(str(info[4][0])) is True for info in infos)


def split_host_port(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT``, ``:PORT`` or ``PORT`` → (bare host, port); ValueError if malformed."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host = ""
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT with a port from 0 to 65535, got {text!r}")
    if host.startswith("[") != host.endswith("]"):
        raise ValueError(f"unbalanced brackets in {text!r}")
    return bare_host(host) or default_host, int(port)
