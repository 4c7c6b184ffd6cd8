"""Which addresses outbound HTTP may reach: address classes and the parsed allowlist.

See `relayflow.netguard` for the guard itself and the allowlist's syntax. Imports
only `errors`.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from relayflow import errors

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWLIST_SETTING = "RELAYFLOW_HTTP_ALLOWLIST"

# Instance metadata services hand out cloud credentials: the classic SSRF prize.
# (AWS/GCP/Azure/OpenStack, AWS ECS task metadata, Alibaba, AWS IPv6.)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def address_class(address: IPAddress) -> str | None:
    """Why an address is not public (e.g. "a loopback address"), or None if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and (embedded_class := address_class(embedded)) is not None:
            return embedded_class
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in CGNAT:
        return "a carrier-grade NAT address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a non-public address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


# An entry's ports: a set, or None for every port.
Ports = frozenset[int] | None
WEB_PORTS: Ports = frozenset({80, 443})


def _port_allowed(ports: Ports, port: int) -> bool:
    return ports is None or port in ports


def _merged(first: Ports, second: Ports) -> Ports:
    return None if first is None or second is None else first | second


@dataclass(frozen=True)
class AddressPolicy:
    """The allowlist, parsed: host names (`*.example.com` matches subdomains), IPs, CIDRs,
    each with the ports it opens."""

    hosts: tuple[tuple[str, Ports], ...] = ()
    host_suffixes: tuple[tuple[str, Ports], ...] = ()
    networks: tuple[tuple[IPNetwork, Ports], ...] = ()

    @classmethod
    def from_allowlist(cls, allowlist: Sequence[str]) -> AddressPolicy:
        return _parse_allowlist(tuple(allowlist))

    def allows_host(self, host: str, port: int) -> bool:
        host = host.lower().rstrip(".")
        return any(h == host and _port_allowed(p, port) for h, p in self.hosts) or any(
            host.endswith(s) and _port_allowed(p, port) for s, p in self.host_suffixes
        )

    def allows_address(self, address: IPAddress, port: int) -> bool:
        return address_class(address) is None or any(
            address in network and _port_allowed(ports, port) for network, ports in self.networks
        )


def _bad_entry(raw: str, why: str) -> errors.ConfigError:
    return errors.ConfigError(f"{ALLOWLIST_SETTING}: {raw!r} {why}")


def _split_port(raw: str, entry: str) -> tuple[str, str | None]:
    """(host part, port part or None) of an entry; `[v6]:port`, `host:port`, bare v6."""
    if entry.startswith("["):
        close = entry.find("]")
        rest = entry[close + 1 :] if close != -1 else ""
        if close == -1 or (rest and not rest.startswith(":")):
            raise _bad_entry(raw, "is not [IPv6 address] or [IPv6 address]:port")
        return entry[1:close], rest[1:] if rest else None
    if entry.count(":") == 1:  # more colons: a bare IPv6 address or network, no port
        host, _, port = entry.partition(":")
        return host, port
    return entry, None


def _parse_ports(raw: str, spec: str | None) -> Ports:
    if spec is None:
        return WEB_PORTS
    if spec == "*":
        return None
    if not spec.isascii() or not spec.isdigit() or not 1 <= int(spec) <= 65535:
        raise _bad_entry(raw, "has a port that is neither 1 to 65535 nor *")
    return frozenset({int(spec)})


@functools.lru_cache(maxsize=64)
def _parse_allowlist(entries: tuple[str, ...]) -> AddressPolicy:
    hosts: dict[str, Ports] = {}
    suffixes: dict[str, Ports] = {}
    networks: list[tuple[IPNetwork, Ports]] = []
    for raw in entries:
        entry = raw.strip().lower()
        if not entry:
            continue
        host, port_spec = _split_port(raw, entry)
        ports = _parse_ports(raw, port_spec)
        host = host.rstrip(".")
        try:
            networks.append((ipaddress.ip_network(host, strict=False), ports))
            continue
        except ValueError:
            pass
        if host.startswith("*."):
            suffix = host[1:]
            suffixes[suffix] = _merged(suffixes[suffix], ports) if suffix in suffixes else ports
        elif not host or any(c in host for c in "/:[] *"):
            raise _bad_entry(raw, "is neither a host name, an IP address nor a CIDR")
        else:
            hosts[host] = _merged(hosts[host], ports) if host in hosts else ports
    return AddressPolicy(tuple(hosts.items()), tuple(suffixes.items()), tuple(networks))
