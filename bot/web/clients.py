"""Who the client of a request is, for the per-client limits of the web server (console sign-in,
feedback): the peer address, or, when the peer is one of MUTU_TRUSTED_PROXIES, the rightmost
address of ``X-Forwarded-For`` that is not a trusted proxy itself."""
from __future__ import annotations

import ipaddress
from typing import Iterable, List, Optional, Sequence, Union

from sanic.request import Request

from bot.settings import IPNetwork

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


def parse_address(text: str) -> Optional[Address]:
    """An IP address (IPv4-mapped IPv6 as IPv4, without an IPv6 zone), or None."""
    try:
        address = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def trusted(address: Address, proxies: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def forwarded_chain(headers: Iterable[str]) -> List[str]:
    """The addresses of every X-Forwarded-For header, in order (left: the farthest)."""
    return [part.strip() for header in headers for part in header.split(",") if part.strip()]


def pick_client(peer: str, forwarded: Sequence[str], proxies: Sequence[IPNetwork]) -> str:
    """The peer, unless it is a trusted proxy: then the rightmost forwarded address that is not a
    trusted proxy (what the proxies saw; what a client wrote further left is not believed). A
    chain of trusted proxies only, or an entry that is no address, stops at the last trusted hop."""
    current = parse_address(peer)
    if current is None or not trusted(current, proxies):
        return str(current or peer)
    for item in reversed(forwarded):
        hop = parse_address(item)
        if hop is None:
            break
        current = hop
        if not trusted(hop, proxies):
            break
    return str(current)


def client_address(request: Request, proxies: Sequence[IPNetwork]) -> str:
    """The client of ``request`` (see :func:`pick_client`); "?" when the peer is unknown."""
    peer = request.ip or "?"
    if not proxies:
        return peer
    return pick_client(peer, forwarded_chain(request.headers.getall("x-forwarded-for", [])), proxies)
