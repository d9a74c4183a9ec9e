"""The SSRF guard: webhooks never reach the deployment's own network, unless allowed.

A subscription's URL is chosen by an integrator, and Vorgang posts to it from inside the
town's network. Outside development, a URL whose host resolves to a loopback, private,
link-local (the cloud metadata service at 169.254.169.254 among them), shared, multicast
or otherwise non-global address is refused, at subscription and again at every delivery
(DNS answers change). Each delivery resolves the host once, checks every address the
answer holds, and connects to the address it checked (``Target``), so a second lookup
between check and connect cannot be steered elsewhere (DNS rebinding). The allow-list
(``VORGANG_WEBHOOK_ALLOW``: networks or host names) admits an integrator inside the
town's network.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from application.webhooks import UnsafeUrl

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolve = Callable[[str, int], list[str]]

# Addresses that are global by the registry but serve instances their cloud's metadata.
METADATA = {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")}


def system_resolve(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives for the host (one lookup)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True, slots=True)
class Target:
    """Where one delivery connects: the address checked, and the name the URL gave."""

    scheme: str
    host: str  # as the URL names it: the Host header and the TLS server name
    port: int
    address: Address

    def pinned_url(self, url: str) -> str:
        """The URL with its host replaced by the checked address (path and query kept)."""
        parts = urlsplit(url)
        shown = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return parts._replace(netloc=f"{shown}:{self.port}").geturl()

    @property
    def host_header(self) -> str:
        """The Host header: the name, with the port unless it is the scheme's default."""
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def refusal(address: Address) -> str | None:
    """Why an address is no place for a webhook (None: it is a public address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return refusal(address.ipv4_mapped)
    if address.is_unspecified or address.is_multicast:
        return "not a unicast address"
    if address.is_loopback:
        return "a loopback address"
    if address in METADATA or str(address) == "169.254.169.254":
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a public address"
    return None


class SsrfGuard:
    """Resolves a webhook's host once and says where it may connect, or refuses."""

    def __init__(
        self,
        *,
        allow: Sequence[str] = (),
        development: bool = False,
        resolve: Resolve = system_resolve,
    ) -> None:
        self.development = development
        self.resolve_host = resolve
        self.allowed_hosts = set()
        self.allowed_networks: list[Network] = []
        for entry in allow:
            try:
                self.allowed_networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.allowed_hosts.add(entry.lower().rstrip("."))

    def check(self, url: str) -> None:
        """Return if the URL may be called now (``UnsafeUrl`` naming why not).

        In development nothing is refused, so a subscription is not refused either for a
        name that resolves only where the worker runs.
        """
        if not self.development:
            self.target(url)

    def target(self, url: str) -> Target:
        """The address this delivery connects to, checked (one lookup)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        if parts.scheme not in ("http", "https") or not host:
            raise UnsafeUrl("an absolute http or https URL")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise UnsafeUrl("the port is not a number between 0 and 65535") from None
        try:
            found = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                found = [
                    ipaddress.ip_address(a.split("%")[0]) for a in self.resolve_host(host, port)
                ]
            except (OSError, UnicodeError) as error:
                raise UnsafeUrl(
                    f"the host {host} does not resolve ({type(error).__name__})"
                ) from None
        if not found:
            raise UnsafeUrl(f"the host {host} does not resolve")
        if not self.development and host.lower() not in self.allowed_hosts:
            for address in found:  # every answer: a mixed one must not slip a private one in
                why = refusal(address)
                if why and not any(address in net for net in self.allowed_networks):
                    raise UnsafeUrl(f"{host} resolves to {address}, {why}")
        return Target(scheme=parts.scheme, host=host, port=port, address=found[0])
