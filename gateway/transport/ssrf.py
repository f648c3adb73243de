"""Check custom hosts against server-side request forgery.

``check_custom_host`` applies the reference gateway's string rules (scheme, credentials,
odd characters, metadata names, internal TLDs, private and odd-encoded IP literals) with
bracketed IPv6 literals parsed properly. ``TrustedHosts`` holds the operator's allow list
(names and CIDR networks). ``is_public_address`` is used again at connect time, on the
resolved peer address, so a public name that resolves to a private address is refused too.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from gateway.core.errors import BadRequest

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOSTNAME = re.compile(r"^[a-z0-9.-]+$")
_NUMERIC_HOST = re.compile(r"^[0-9a-fx.]+$")
_BLOCKED_NAMES = frozenset(
    {
        "0.0.0.0",  # noqa: S104 - a name to refuse, not an address to bind
        "localhost",
        "ip6-localhost",
        "ip6-loopback",
        "metadata",
        "metadata.google.internal",
        "metadata.azure.com",
        "instance-data",
    }
)
_BLOCKED_TLDS = (
    ".local",
    ".localdomain",
    ".internal",
    ".intranet",
    ".lan",
    ".home",
    ".corp",
    ".test",
    ".invalid",
    ".onion",
    ".localhost",
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: DNS limits (RFC 1035): a name is at most 253 characters, each dot-separated label 1 to 63.
MAX_HOST_LENGTH = 253
MAX_LABEL_LENGTH = 63


_MEMO_SIZE = 1024


class TrustedHosts:
    """Hold the host names and networks that skip the private-address rules.

    Answers are memoised per instance (bounded): the same few custom hosts come with every request.
    """

    def __init__(self, entries: Iterable[str]) -> None:
        self.checked: dict[str, str] = {}  # custom host URL -> its checked form (see check_custom_host)
        self._by_name: dict[str, bool] = {}
        self.names: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in entries:
            entry = entry.strip().lower().strip("[]")
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.names.add(entry)

    def trusts_name(self, host: str) -> bool:
        """Return whether ``host`` (a lower-case name or IP literal) is trusted by name."""
        known = self._by_name.get(host)
        if known is None:
            known = self._trusts_name(host)
            if len(self._by_name) >= _MEMO_SIZE:
                self._by_name.clear()
            self._by_name[host] = known
        return known

    def _trusts_name(self, host: str) -> bool:
        if host in self.names or (host.endswith(".localhost") and "localhost" in self.names):
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return self.trusts_ip(address)

    def trusts_ip(self, address: IPAddress) -> bool:
        """Return whether ``address`` lies in a trusted network or names a trusted literal."""
        if str(address) in self.names:
            return True
        return any(address in net for net in self.networks)


def is_public_address(address: IPAddress) -> bool:
    """Return whether ``address`` is a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            return is_public_address(embedded)
    return address.is_global and not address.is_multicast


def _invalid() -> BadRequest:
    return BadRequest("Invalid custom host", code="invalid_custom_host", param="x-portkey-custom-host")


def _numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Parse ``host`` as an IPv4 address in any inet_aton form (decimal, hex, octal, short)."""
    if not _NUMERIC_HOST.match(host) or not any(ch.isdigit() for ch in host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_custom_host(url: str, trusted: TrustedHosts) -> str:
    """Return ``url`` without a trailing slash, or raise ``BadRequest("Invalid custom host")``.

    Accepted URLs are remembered per ``trusted`` (refused ones are checked again each time).
    """
    checked = trusted.checked.get(url)
    if checked is None:
        checked = _check_custom_host(url, trusted)
        if len(trusted.checked) >= _MEMO_SIZE:
            trusted.checked.clear()
        trusted.checked[url] = checked
    return checked


def _check_custom_host(url: str, trusted: TrustedHosts) -> str:
    if not url or _CONTROL.search(url) or "api.portkey" in url.lower():
        raise _invalid()
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise _invalid() from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        raise _invalid()
    if port is not None and not 1 <= port <= 65535:
        raise _invalid()
    netloc_host = parts.netloc.rsplit("@", 1)[-1]
    host = (parts.hostname or "").lower()
    if not host:
        raise _invalid()
    if netloc_host.startswith("["):
        try:
            address: IPAddress | None = ipaddress.IPv6Address(host)
        except ValueError:
            raise _invalid() from None
    else:
        if not _HOSTNAME.match(host) or host.endswith(".") or host.count(".") >= 10 or ".." in host:
            raise _invalid()
        if len(host) > MAX_HOST_LENGTH or any(not 1 <= len(label) <= MAX_LABEL_LENGTH for label in host.split(".")):
            raise _invalid()
        address = None
    if trusted.trusts_name(host):
        return url.strip().rstrip("/")
    if address is None:
        if host in _BLOCKED_NAMES or host.startswith("169.254.169.") or host.endswith(_BLOCKED_TLDS):
            raise _invalid()
        numeric = _numeric_ipv4(host)
        if numeric is not None:
            canonical = str(numeric) == host
            if not canonical or not is_public_address(numeric):
                raise _invalid()
        elif host.replace(".", "").isdigit():
            raise _invalid()
    elif not is_public_address(address):
        raise _invalid()
    return url.strip().rstrip("/")
