"""The network address a request came from, as far as this site can trust it, and what the
per-address limits say when they refuse.

Every place the runner takes a visitor's address (the audit rows, the per-address rate and
in-flight limits, the per-address cap on sandboxes) takes it from ``client_address``, so they
all agree, and a client cannot choose it: a visitor's cookie is free to drop, an address is not.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address, in its canonical form; None when none can be had.

    Without a proxy (``BEHIND_TLS_PROXY`` unset) it is the peer of the connection,
    ``REMOTE_ADDR``; any ``X-Forwarded-For`` is the client's own word and is ignored.

    Behind the proxy (``BEHIND_TLS_PROXY=true``, gunicorn on 127.0.0.1) ``REMOTE_ADDR`` is
    the proxy's address for everyone, so the client's is the **last** entry of
    ``X-Forwarded-For``: the one our single, trusted proxy appended (nginx's
    ``$proxy_add_x_forwarded_for``, or a header it sets to ``$remote_addr`` alone). Every
    entry before it came from the client, who can write anything there, so none of them is
    ever read. Several ``X-Forwarded-For`` headers count as one list, joined in order. When the
    last entry is missing or not a plain IP address (a port, a name, ``unknown``, a scoped
    IPv6 address), the proxy did not add one: ``REMOTE_ADDR`` it is.

    An IPv4 address written as IPv6 (``::ffff:192.0.2.1``) counts as the IPv4 one, so one
    client is one address for the limits.
    """
    remote = _ip(request.META.get("REMOTE_ADDR", ""))
    if not settings.BEHIND_TLS_PROXY:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return _ip(forwarded.rpartition(",")[2]) or remote


def _ip(text: str) -> str | None:
    """``text`` as a canonical IP address, or None when it is not one."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:  # "fe80::1%eth0": no address of a client, nor storable
            return None
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
    return str(address)


# An IPv6 client usually holds a whole /64 (SLAAC, privacy addresses) and may take a new address
# of it for every request: the limits count the network, as an IPv4 client counts its address.
IPV6_LIMIT_PREFIX = 64


def client_net(address: str | None) -> str | None:
    """What the per-address limits count by for ``address`` (a canonical address, as
    ``client_address`` gives): an IPv4 address itself, an IPv6 address's /64 network
    ("2001:db8:1:2::/64"); None for None."""
    if not address:
        return None
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        return str(ip)
    return str(ipaddress.ip_network(f"{ip}/{IPV6_LIMIT_PREFIX}", strict=False))


def too_many_sandboxes(live: int) -> str:
    """Why a visitor without a sandbox gets none: their address has as many as it may."""
    most = settings.RUNNER_SANDBOXES_PER_ADDRESS
    return (
        f"Your network address already has {live} sandbox{'es' if live != 1 else ''} in use, "
        f"the most one address may have at once ({most}), so no new sandbox can be started "
        "for you. Try again when one of them is reset or expires (idle ones after "
        f"{settings.RUNNER_IDLE_TTL // 60} minutes)."
    )
