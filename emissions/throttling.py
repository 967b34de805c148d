"""Who is asking (the client address behind trusted proxies), and throttling of invalid API tokens.

Only invalid tokens are counted and only invalid tokens are refused: a valid token is looked up first and
always served, so one stray job sending a revoked token cannot lock out the trackers and CI gates that
share its address (a NAT, a cluster's egress, the reverse proxy). Invalid attempts are counted twice, per
client address (someone guessing tokens) and per presented prefix (one revoked token sent from many
machines), in Django's cache with DRF's sliding-window throttle: with Redis configured (``CACHE_URL`` or a
Redis broker) the counts are shared by every worker, else each process keeps its own.
"""

from __future__ import annotations

import hashlib
import ipaddress
from functools import lru_cache

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

DEFAULT_TOKEN_FAILURES_PER_MINUTE = 20
# The stored prefix of a token (emissions.services.tokens): "gg_" and 7 random characters.
PRESENTED_PREFIX_CHARS = 10


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def trusted_proxy_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """GREENGUILD_TRUSTED_PROXIES as networks (empty: no proxy is trusted)."""
    return _networks(tuple(getattr(settings, "GREENGUILD_TRUSTED_PROXIES", ())))


def client_address(request) -> str:
    """The client's IP address: ``REMOTE_ADDR``, unless that peer is a trusted proxy.

    Behind trusted proxies, ``X-Forwarded-For`` is read from the right (each proxy appends the address it
    received from) and the first hop that is not a trusted proxy is the client; entries to its left are
    whatever the client chose to send, so they are never believed. A malformed hop stops the walk at the
    last address a trusted proxy vouched for. Also django-axes' ``AXES_CLIENT_IP_CALLABLE``.
    """
    peer = request.META.get("REMOTE_ADDR", "")
    trusted = trusted_proxy_networks()
    if not trusted or not _is_in(peer, trusted):
        return peer
    address = peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ip = ipaddress.ip_address(hop)
        except ValueError:
            break
        address = str(ip)
        if not any(ip in network for network in trusted):
            break
    return address


def _is_in(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


class InvalidTokenThrottle(SimpleRateThrottle):
    """DRF's sliding-window count, fed only with invalid tokens (``allow_request`` records one)."""

    cache_format = "greenguild:throttle:%(scope)s:%(ident)s"

    def get_rate(self) -> str:
        limit = getattr(settings, "GREENGUILD_TOKEN_FAILURES_PER_MINUTE", DEFAULT_TOKEN_FAILURES_PER_MINUTE)
        return f"{limit}/min"


class InvalidTokenAddressThrottle(InvalidTokenThrottle):
    """Invalid tokens from one client address."""

    scope = "invalid-token-address"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


class InvalidTokenPrefixThrottle(InvalidTokenThrottle):
    """Invalid tokens starting with the same characters, from any address."""

    scope = "invalid-token-prefix"

    def __init__(self, plaintext: str):
        super().__init__()
        # Hashed: the key must be safe for any cache whatever the client sent.
        self.ident = hashlib.sha256(plaintext[:PRESENTED_PREFIX_CHARS].encode()).hexdigest()[:32]

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.ident}


def invalid_token_register(request, *, plaintext: str) -> float | None:
    """Count one invalid token sent with ``request``: None while under both limits, else seconds to wait.

    Call it only after the token was found invalid, never before the lookup: a valid token is never refused.
    """
    throttles = [InvalidTokenAddressThrottle(), InvalidTokenPrefixThrottle(plaintext)]
    refused = [throttle for throttle in throttles if not throttle.allow_request(request, None)]
    if not refused:
        return None
    return max(throttle.wait() or 0.0 for throttle in refused)
