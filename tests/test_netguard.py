"""The SSRF guard against real servers on loopback addresses."""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from relayflow import errors
from relayflow.address_policy import AddressPolicy
from relayflow.netguard import (
    BlockedAddress,
    HttpRequestFailed,
    ResponseTooLarge,
    address_class,
    guarded_request,
    outbound_client,
)
from tests.support.http_server import LocalHttpServer, ReceivedRequest, Reply


async def hello(request: ReceivedRequest) -> Reply:
    return Reply.json({"path": request.target, "host": request.headers.get("host")})


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as c:
        yield c


@pytest.fixture
async def server() -> AsyncIterator[LocalHttpServer]:
    async with LocalHttpServer(hello) as s:
        yield s


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


# ----------------------------------------------------------------- refused by default
async def test_loopback_is_refused_by_default_and_never_contacted(
    client: httpx.AsyncClient, server: LocalHttpServer
) -> None:
    with pytest.raises(BlockedAddress) as caught:
        await guarded_request(client, "GET", server.url("/"))
    message = str(caught.value)
    assert "127.0.0.1" in message
    assert "a loopback address" in message
    assert "RELAYFLOW_HTTP_ALLOWLIST" in message
    assert isinstance(caught.value, errors.InvalidInput)
    assert server.requests == []


async def test_a_name_resolving_to_loopback_is_refused(
    client: httpx.AsyncClient, server: LocalHttpServer
) -> None:
    with pytest.raises(BlockedAddress) as caught:
        await guarded_request(client, "GET", server.url("/", host="localhost"))
    assert "'localhost'" in str(caught.value)
    assert caught.value.address.is_loopback
    assert server.requests == []


@pytest.mark.parametrize(
    ("url", "address_kind"),
    [
        ("http://[::1]:9/", "a loopback address"),
        ("http://[::ffff:127.0.0.1]:9/", "a loopback address"),
        ("http://[::ffff:10.1.2.3]:9/", "a private address"),
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("http://0.0.0.0:9/", "an unspecified address"),
        ("http://[::]:9/", "an unspecified address"),
        ("http://10.0.0.8/", "a private address"),
        ("http://192.168.1.1/", "a private address"),
        ("http://100.64.0.1/", "a carrier-grade NAT address"),
        ("http://169.254.1.1/", "a link-local address"),
        ("http://[fe80::1]/", "a link-local address"),
        ("http://224.0.0.1/", "a multicast address"),
        ("http://[2002:7f00:1::]/", "a loopback address"),  # 6to4 wrapping 127.0.0.1
    ],
)
async def test_internal_addresses_are_refused(
    client: httpx.AsyncClient, url: str, address_kind: str
) -> None:
    with pytest.raises(BlockedAddress) as caught:
        await guarded_request(client, "GET", url, timeout_s=2)
    assert address_kind in str(caught.value)


def test_address_classes() -> None:
    def cls(text: str) -> str | None:
        return address_class(ipaddress.ip_address(text))

    assert cls("8.8.8.8") is None
    assert cls("2606:4700:4700::1111") is None
    assert cls("240.0.0.1") == "a reserved address"
    assert cls("64:ff9b::a00:1") == "a private address"  # NAT64 of 10.0.0.1
    assert cls("fd00:ec2::254") == "a cloud metadata address"
    assert cls("fc00::1") == "a private address"


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://x/"])
async def test_only_http_and_https(client: httpx.AsyncClient, url: str) -> None:
    with pytest.raises(errors.InvalidInput, match="only http and https"):
        await guarded_request(client, "GET", url)


# ----------------------------------------------------------------- allowlist
@pytest.mark.parametrize(
    "entry", ["127.0.0.1:{port}", "127.0.0.0/8:{port}", "localhost:{port}", "127.0.0.1:*"]
)
async def test_the_allowlist_lets_a_loopback_server_through_on_its_port(
    client: httpx.AsyncClient, server: LocalHttpServer, entry: str
) -> None:
    entry = entry.format(port=server.port)
    url = server.url("/hi?x=1", host="localhost" if entry.startswith("localhost") else None)
    response = await guarded_request(client, "GET", url, allowlist=[entry])
    assert response.status_code == 200
    assert response.json_or_text()["path"] == "/hi?x=1"
    assert response.url == url


@pytest.mark.parametrize("entry", ["127.0.0.1", "127.0.0.0/8", "localhost", "127.0.0.1:{other}"])
async def test_an_entry_opens_only_its_ports_bare_ones_only_80_and_443(
    client: httpx.AsyncClient, server: LocalHttpServer, entry: str
) -> None:
    # The server listens on a high port: a bare entry (80/443) or another port's
    # entry does not reach it, and it is never contacted.
    entry = entry.format(other=server.port + 1 if server.port < 65535 else 1024)
    url = server.url("/", host="localhost" if entry == "localhost" else None)
    with pytest.raises(BlockedAddress) as caught:
        await guarded_request(client, "GET", url, allowlist=[entry])
    assert f"port {server.port}" in str(caught.value)
    assert "80 and 443" in str(caught.value)
    assert server.requests == []


def test_bare_entries_mean_the_web_ports_and_a_star_every_port() -> None:
    policy = AddressPolicy.from_allowlist(
        ["localhost", "*.internal:8443", "10.0.0.0/8:*", "[fd00::1]:5000", "fd00::2"]
    )
    loopback, private = ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("10.1.2.3")
    v6a, v6b = ipaddress.ip_address("fd00::1"), ipaddress.ip_address("fd00::2")

    assert policy.allows_host("localhost", 80)
    assert policy.allows_host("localhost", 443)
    assert not policy.allows_host("localhost", 6379)
    assert policy.allows_host("api.internal", 8443)
    assert not policy.allows_host("api.internal", 443)
    assert policy.allows_address(private, 5432)
    assert policy.allows_address(private, 80)
    assert not policy.allows_address(loopback, 80)  # localhost is a name entry, not an IP
    assert policy.allows_address(v6a, 5000)
    assert not policy.allows_address(v6a, 5001)
    assert policy.allows_address(v6b, 443)
    assert not policy.allows_address(v6b, 8080)
    # Public addresses need no entry, on any port.
    assert policy.allows_address(ipaddress.ip_address("8.8.8.8"), 8080)


async def test_the_host_header_names_the_host_while_the_connection_is_pinned_to_the_ip(
    client: httpx.AsyncClient, server: LocalHttpServer
) -> None:
    url = server.url("/", host="localhost")
    response = await guarded_request(client, "GET", url, allowlist=[f"localhost:{server.port}"])
    assert response.json_or_text()["host"] == f"localhost:{server.port}"


@pytest.mark.skipif(not ipv6_available(), reason="no IPv6 loopback here")
async def test_ipv6_loopback_server_through_the_allowlist(client: httpx.AsyncClient) -> None:
    async with LocalHttpServer(hello, host="::1") as server6:
        with pytest.raises(BlockedAddress, match="loopback"):
            await guarded_request(client, "GET", server6.url("/"))
        with pytest.raises(BlockedAddress, match="80 and 443"):
            await guarded_request(client, "GET", server6.url("/"), allowlist=["::1"])
        response = await guarded_request(
            client, "GET", server6.url("/"), allowlist=[f"[::1]:{server6.port}"]
        )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "entry", ["not a host/x", "localhost:0", "localhost:65536", "localhost:http", "[::1", "[::1]x"]
)
async def test_a_bad_allowlist_entry_names_the_setting(
    client: httpx.AsyncClient, entry: str
) -> None:
    with pytest.raises(errors.ConfigError, match="RELAYFLOW_HTTP_ALLOWLIST"):
        await guarded_request(client, "GET", "http://127.0.0.1:9/", allowlist=[entry])


# ----------------------------------------------------------------- redirects
async def test_a_redirect_from_an_allowed_host_to_a_blocked_one_is_refused(
    client: httpx.AsyncClient,
) -> None:
    async def redirect_inward(request: ReceivedRequest) -> Reply:
        if request.path == "/start":
            return Reply(302, {"location": f"http://127.0.0.1:{origin.port}/secret"})
        return Reply(200, body=b"secret")

    async with LocalHttpServer(redirect_inward) as origin:
        with pytest.raises(BlockedAddress, match=r"127\.0\.0\.1, a loopback address"):
            await guarded_request(
                client, "GET", origin.url("/start", host="localhost"), allowlist=["localhost:*"]
            )
    assert [r.path for r in origin.requests] == ["/start"]


async def test_a_redirect_to_metadata_is_refused(client: httpx.AsyncClient) -> None:
    async def to_metadata(request: ReceivedRequest) -> Reply:
        return Reply(307, {"location": "http://169.254.169.254/latest/meta-data/iam/"})

    async with LocalHttpServer(to_metadata) as server:
        with pytest.raises(BlockedAddress, match="cloud metadata"):
            await guarded_request(client, "GET", server.url("/"), allowlist=["127.0.0.1:*"])


async def test_redirects_are_followed_with_browser_semantics(client: httpx.AsyncClient) -> None:
    async def post_then_see_other(request: ReceivedRequest) -> Reply:
        if request.path == "/form":
            # Another origin (IP instead of name): credentials must not follow.
            return Reply(303, {"location": f"http://127.0.0.1:{origin.port}/done"})
        return Reply.json({"method": request.method, "auth": request.headers.get("authorization")})

    async with LocalHttpServer(post_then_see_other) as origin:
        response = await guarded_request(
            client,
            "POST",
            origin.url("/form", host="localhost"),
            json={"a": 1},
            headers={"Authorization": "Bearer secret"},
            allowlist=["localhost:*", "127.0.0.1:*"],
        )
    assert response.json_or_text() == {"method": "GET", "auth": None}
    assert response.url.endswith("/done")
    assert origin.requests[0].headers["authorization"] == "Bearer secret"
    assert origin.requests[0].json() == {"a": 1}


async def test_a_redirect_loop_stops(client: httpx.AsyncClient) -> None:
    async def loop(request: ReceivedRequest) -> Reply:
        return Reply(302, {"location": "/again"})

    async with LocalHttpServer(loop) as server:
        with pytest.raises(HttpRequestFailed, match="more than 3 redirects"):
            await guarded_request(
                client, "GET", server.url("/"), allowlist=["127.0.0.1:*"], max_redirects=3
            )
    assert len(server.requests) == 4


# ----------------------------------------------------------------- limits
@pytest.mark.parametrize("declare_length", [True, False])
async def test_the_response_size_is_capped(client: httpx.AsyncClient, declare_length: bool) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 100

    async def big(request: ReceivedRequest) -> Reply:
        if declare_length:
            return Reply(200, body=b"x" * 2000)
        return Reply(200, body=chunks())

    async with LocalHttpServer(big) as server:
        with pytest.raises(ResponseTooLarge, match="larger than 1000 bytes"):
            await guarded_request(
                client, "GET", server.url("/"), allowlist=["127.0.0.1:*"], max_response_bytes=1000
            )
        small = await guarded_request(
            client, "GET", server.url("/"), allowlist=["127.0.0.1:*"], max_response_bytes=2000
        )
    assert small.body == b"x" * 2000
    assert small.json_or_text() == "x" * 2000


async def test_a_slow_server_times_out_with_a_clear_error(client: httpx.AsyncClient) -> None:
    async def slow(request: ReceivedRequest) -> Reply:
        await asyncio.sleep(5)
        return Reply(200)

    async with LocalHttpServer(slow) as server:
        with pytest.raises(HttpRequestFailed, match=r"timed out after 0\.2s") as caught:
            await guarded_request(
                client,
                "GET",
                server.url("/p?token=SECRET"),
                allowlist=["127.0.0.1:*"],
                timeout_s=0.2,
            )
    assert "SECRET" not in str(caught.value)  # a query may hold a key


async def test_error_messages_leave_out_query_and_credentials(client: httpx.AsyncClient) -> None:
    with pytest.raises(HttpRequestFailed) as caught:
        await guarded_request(
            client,
            "GET",
            "http://user:pw@127.0.0.1:1/p?token=SECRET",
            allowlist=["127.0.0.1:*"],
            timeout_s=2,
        )
    assert "SECRET" not in str(caught.value)
    assert "pw" not in str(caught.value)


# ----------------------------------------------------------------- TLS keeps the name
@pytest.fixture(scope="module")
def localhost_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def serving(cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS server's context that presents the certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_tls_verifies_the_certificate_for_the_name_not_the_ip(
    localhost_cert: tuple[Path, Path],
) -> None:
    cert, key = localhost_cert
    client_ctx = ssl.create_default_context(cafile=str(cert))
    async with (
        LocalHttpServer(hello, ssl=serving(cert, key)) as server,
        httpx.AsyncClient(verify=client_ctx, trust_env=False) as tls_client,
    ):
        # The certificate names only "localhost"; the connection goes to 127.0.0.1.
        response = await guarded_request(
            tls_client, "GET", server.url("/", host="localhost"), allowlist=["localhost:*"]
        )
        assert response.json_or_text()["host"] == f"localhost:{server.port}"
        # Asked by IP, the same certificate does not match: verification is real.
        with pytest.raises(HttpRequestFailed):
            await guarded_request(tls_client, "GET", server.url("/"), allowlist=["127.0.0.1:*"])


async def test_the_outbound_client_refuses_a_certificate_no_known_authority_signed(
    localhost_cert: tuple[Path, Path],
) -> None:
    async with LocalHttpServer(hello, ssl=serving(*localhost_cert)) as server:
        # Two clients (they share the process's TLS context): both verify.
        for _ in range(2):
            async with outbound_client() as client:
                with pytest.raises(HttpRequestFailed):
                    await guarded_request(
                        client, "GET", server.url("/", host="localhost"), allowlist=["localhost:*"]
                    )
