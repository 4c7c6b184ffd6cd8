"""Outbound HTTP that cannot be pointed at the inside of the network (SSRF guard).

Workflows and agents make HTTP requests to URLs that users (and models) choose.
`guarded_request` refuses loopback, private, link-local, carrier-grade NAT,
multicast, reserved, unspecified and cloud metadata addresses, IPv4 and IPv6
alike (including IPv4 embedded in IPv6), unless the host, IP or CIDR and the
port are in the allowlist (`RELAYFLOW_HTTP_ALLOWLIST`).

Allowlist entries: `host`, `*.suffix`, an IP (`[v6]` or bare) or a CIDR, each
optionally with a port: `host:8080`, `[::1]:8080`, `10.0.0.0/8:5000`, or `:*` for
every port. An entry without a port opens the web ports 80 and 443 only: allowing
`localhost` must not also open the database, the cache and every admin console
listening on it. (Public addresses need no entry and may use any port.)

The check happens after DNS resolution and again on every redirect hop, and the
connection goes to the very address that was checked: the request is sent to the
IP, with the `Host` header and TLS SNI (hence certificate verification) still
naming the host, so a DNS answer that changes between check and connect (DNS
rebinding) cannot redirect it.

Pass a client from `outbound_client` (or one built with `trust_env=False`): an
environment proxy would resolve the host itself and bypass the pinning.

Imports only `errors` (and `address_policy`), so the engine and the agents can both use it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json as jsonlib
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx

from relayflow import errors
from relayflow.address_policy import (
    ALLOWLIST_SETTING,
    AddressPolicy,
    IPAddress,
    address_class,
)

ALLOWED_SCHEMES = ("http", "https")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
DEFAULT_PORTS = {"http": 80, "https": 443}


class BlockedAddress(errors.InvalidInput):
    """The request targets an address that is not allowed."""

    code = "blocked_address"

    def __init__(
        self, host: str, address: IPAddress, address_class: str, port: int | None = None
    ) -> None:
        self.host = host
        self.address = address
        self.address_class = address_class
        self.port = port
        where = f"{host!r}" if port is None else f"{host!r} port {port}"
        entry = host if port is None else f"{_bracketed(host)}:{port}"
        super().__init__(
            f"refusing to connect to {where}: it resolves to {address}, {address_class}; "
            f"allow it with {ALLOWLIST_SETTING} (e.g. {entry!r}; an entry without a port "
            "covers ports 80 and 443 only)"
        )


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class HttpRequestFailed(errors.RelayflowError):
    """The HTTP request failed."""

    code = "http_request_failed"


class ResponseTooLarge(HttpRequestFailed):
    """The HTTP response is larger than allowed."""

    code = "response_too_large"


@dataclass(frozen=True)
class GuardedResponse:
    status_code: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    url: str  # the final URL, after redirects, with the host name (not the IP)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def text(self) -> str:
        charset = "utf-8"
        for param in self.content_type.split(";")[1:]:
            name, _, value = param.strip().partition("=")
            if name.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:  # an unknown charset name
            return self.body.decode("utf-8", errors="replace")

    def json_or_text(self) -> Any:
        """The body parsed as JSON when the content type says JSON, else as text."""
        if "json" in self.content_type.lower():
            try:
                return jsonlib.loads(self.body)
            except ValueError:
                pass
        return self.text()


async def resolve_allowed(host: str, port: int, policy: AddressPolicy) -> list[IPAddress]:
    """The addresses of `host` that may be connected to, in resolver order.

    Raises BlockedAddress when there is none. Addresses that are refused are
    simply never connected to: the connection is pinned to an allowed one.
    """
    literal = _ip_literal(host)
    if literal is not None:
        candidates = [literal]
    else:
        candidates = await _resolve(host, port)
    if policy.allows_host(host, port):
        return candidates
    allowed = [a for a in candidates if policy.allows_address(a, port)]
    if not allowed:
        first = candidates[0]
        raise BlockedAddress(host, first, address_class(first) or "a refused address", port)
    return allowed


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def _resolve(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise HttpRequestFailed(f"could not resolve host {host!r}: {exc.strerror}") from exc
    found: list[IPAddress] = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        # Drop an IPv6 zone id ("fe80::1%eth0"): the address itself decides.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise HttpRequestFailed(f"could not resolve host {host!r}: no address")
    return found


# ----------------------------------------------------------------- clients
@cache
def _tls_context() -> ssl.SSLContext:
    # What httpx builds for each new client (certifi's CA bundle, about 20 ms of CPU to
    # load); one context can serve every client of the process.
    return httpx.create_ssl_context(trust_env=False)


def outbound_client(**options: Any) -> httpx.AsyncClient:
    """A client for guarded requests: no environment proxy (it would resolve the host
    itself and bypass the pinning), and the process's one TLS context."""
    return httpx.AsyncClient(trust_env=False, verify=_tls_context(), **options)


# ----------------------------------------------------------------- requests
def display_url(url: httpx.URL) -> str:
    """The URL without credentials, query or fragment, safe for error messages."""
    return str(url.copy_with(username=None, password=None, query=None, fragment=None))


async def guarded_request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    json: Any = None,
    timeout_s: float = 30.0,
    allowlist: Sequence[str] = (),
    max_redirects: int = 5,
    max_response_bytes: int = 10 * 1024 * 1024,
) -> GuardedResponse:
    """Send one HTTP request (following redirects) to public addresses only.

    Raises BlockedAddress (an InvalidInput) for a refused address on any hop,
    InvalidInput for a URL that is not http(s), ResponseTooLarge past
    `max_response_bytes`, and HttpRequestFailed for DNS, connection, timeout
    and redirect-loop failures. `timeout_s` bounds the whole exchange.
    """
    policy = AddressPolicy.from_allowlist(allowlist)
    body = content
    request_headers = httpx.Headers(headers or {})
    if json is not None:
        body = jsonlib.dumps(json).encode()
        request_headers.setdefault("content-type", "application/json")
    target = _parse_url(url)
    try:
        async with asyncio.timeout(timeout_s):
            return await _exchange(
                client,
                method.upper(),
                target,
                request_headers,
                body,
                policy=policy,
                timeout_s=timeout_s,
                max_redirects=max_redirects,
                max_response_bytes=max_response_bytes,
            )
    except TimeoutError as exc:
        raise HttpRequestFailed(
            f"{method.upper()} {display_url(target)} timed out after {timeout_s:g}s"
        ) from exc


def _parse_url(url: str | httpx.URL) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise errors.InvalidInput(f"invalid URL {str(url)!r}: {exc}") from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise errors.InvalidInput(
            f"only http and https URLs are allowed, got {parsed.scheme or 'no scheme'!r}"
        )
    if not parsed.host:
        raise errors.InvalidInput(f"URL {str(url)!r} has no host")
    return parsed


async def _exchange(
    client: httpx.AsyncClient,
    method: str,
    target: httpx.URL,
    headers: httpx.Headers,
    body: bytes | None,
    *,
    policy: AddressPolicy,
    timeout_s: float,
    max_redirects: int,
    max_response_bytes: int,
) -> GuardedResponse:
    for _hop in range(max_redirects + 1):
        response = await _send_pinned(client, method, target, headers, body, policy, timeout_s)
        try:
            location = response.headers.get("location")
            if response.status_code in REDIRECT_STATUSES and location:
                next_target = _parse_url(target.join(location))
                method, body, headers = _redirected(
                    response.status_code, method, body, headers, target, next_target
                )
                target = next_target
                continue
            data = await _read_capped(response, target, max_response_bytes)
        finally:
            await response.aclose()
        return GuardedResponse(
            status_code=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=data,
            url=str(target),
        )
    raise HttpRequestFailed(f"{method} {display_url(target)}: more than {max_redirects} redirects")


async def _send_pinned(
    client: httpx.AsyncClient,
    method: str,
    target: httpx.URL,
    headers: httpx.Headers,
    body: bytes | None,
    policy: AddressPolicy,
    timeout_s: float,
) -> httpx.Response:
    host = target.raw_host.decode("ascii")
    port = target.port or DEFAULT_PORTS[target.scheme]
    addresses = await resolve_allowed(host, port, policy)
    hop_headers = headers.copy()
    hop_headers["host"] = target.netloc.decode("ascii")
    extensions: dict[str, Any] = {}
    if target.scheme == "https" and _ip_literal(host) is None:
        extensions["sni_hostname"] = host
    last_error: httpx.TransportError | None = None
    for address in addresses:  # like happy eyeballs, but only over checked addresses
        request = client.build_request(
            method,
            target.copy_with(host=str(address)),
            headers=hop_headers,
            content=body,
            timeout=timeout_s,
            extensions=extensions,
        )
        try:
            return await client.send(request, stream=True, follow_redirects=False)
        except httpx.ConnectError as exc:
            last_error = exc
        except httpx.TimeoutException as exc:
            raise HttpRequestFailed(
                f"{method} {display_url(target)} timed out after {timeout_s:g}s"
            ) from exc
        except httpx.TransportError as exc:
            raise HttpRequestFailed(f"{method} {display_url(target)} failed: {exc}") from exc
    raise HttpRequestFailed(
        f"{method} {display_url(target)}: could not connect: {last_error}"
    ) from last_error


def _redirected(
    status: int,
    method: str,
    body: bytes | None,
    headers: httpx.Headers,
    source: httpx.URL,
    target: httpx.URL,
) -> tuple[str, bytes | None, httpx.Headers]:
    """Method, body and headers for the next hop, as browsers (and httpx) do it."""
    headers = headers.copy()
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        for name in ("content-type", "content-length", "transfer-encoding"):
            headers.pop(name, None)
    same_origin = (source.scheme, source.raw_host, source.port) == (
        target.scheme,
        target.raw_host,
        target.port,
    )
    if not same_origin:  # never hand credentials to another origin
        for name in ("authorization", "cookie", "proxy-authorization"):
            headers.pop(name, None)
    return method, body, headers


async def _read_capped(response: httpx.Response, target: httpx.URL, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ResponseTooLarge(_too_large(target, limit))
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():  # decoded: a compressed bomb counts in full
            size += len(chunk)
            if size > limit:
                raise ResponseTooLarge(_too_large(target, limit))
            chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise HttpRequestFailed(f"reading {display_url(target)} timed out") from exc
    except httpx.TransportError as exc:
        raise HttpRequestFailed(f"reading {display_url(target)} failed: {exc}") from exc
    return b"".join(chunks)


def _too_large(target: httpx.URL, limit: int) -> str:
    return f"the response from {display_url(target)} is larger than {limit} bytes"
