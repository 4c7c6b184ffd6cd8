"""`GET /metrics`: Prometheus figures about executions, the queue, nodes and providers.

Every app has figures of its own (fed by its embedded worker), so each test
asserts exact values.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import event

from relayflow.api.app import create_app
from relayflow.config import Settings
from relayflow.store.db import Database
from tests.support.execution_graphs import (
    SignedInUser,
    create_workflow,
    identity_graph,
    sign_in,
    start,
)
from tests.support.rows import echo_graph

Labels = dict[str, str]


@pytest.fixture
async def user(db: Database, settings: Settings) -> SignedInUser:
    return await sign_in(db, settings)


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_need_no_token_and_count_executions_by_status(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    workflow_id = await create_workflow(client, user.headers, identity_graph())
    for n in range(2):
        response = await start(client, user.headers, workflow_id, n, wait=20)
        assert response.json()["status"] == "completed"

    samples = await scrape(client)

    assert value(samples, "relayflow_executions", status="completed") == 2
    assert value(samples, "relayflow_executions", status="failed") == 0
    assert ("relayflow_executions", (("status", "waiting"),)) in samples
    assert value(samples, "relayflow_queue_depth") == 0
    assert value(samples, "relayflow_oldest_pending_age_seconds") == 0


async def test_a_run_feeds_claim_latency_node_durations_provider_requests_and_tokens(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    workflow_id = await create_workflow(client, user.headers, echo_graph())
    before = await scrape(client)

    finished = (await start(client, user.headers, workflow_id, {"text": "hello"}, wait=20)).json()

    after = await scrape(client)
    assert finished["status"] == "completed"
    assert value(before, "relayflow_claim_latency_seconds_count") == 0
    assert value(after, "relayflow_claim_latency_seconds_count") == 1
    for kind in ("input", "agent", "output"):
        assert (
            value(after, "relayflow_node_duration_seconds_count", kind=kind, status="completed")
            == 1
        )
    assert value(after, "relayflow_provider_requests_total", provider="test") == 1
    assert value(after, "relayflow_provider_errors_total", provider="test") == 0
    assert finished["input_tokens"] > 0
    tokens = "relayflow_tokens_total"
    assert value(after, tokens, provider="test", direction="input") == finished["input_tokens"]
    assert value(after, tokens, provider="test", direction="output") == finished["output_tokens"]


async def test_failed_provider_requests_and_failed_nodes_are_counted(
    client: httpx.AsyncClient, user: SignedInUser
) -> None:
    workflow_id = await create_workflow(client, user.headers, echo_graph("test:fail"))

    finished = (await start(client, user.headers, workflow_id, {"text": "x"}, wait=20)).json()

    after = await scrape(client)
    assert finished["status"] == "failed"
    attempts = 1  # a refused request is permanent: the node is not retried
    assert value(after, "relayflow_provider_requests_total", provider="test") == attempts
    assert value(after, "relayflow_provider_errors_total", provider="test") == attempts
    assert (
        value(after, "relayflow_node_duration_seconds_count", kind="agent", status="failed")
        == attempts
    )
    assert value(after, "relayflow_executions", status="failed") == 1


@contextlib.asynccontextmanager
async def app_client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app made with `settings`, its lifespan running."""
    app = create_app(settings, db=db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.fixture
async def client_without_worker(
    settings: Settings, db: Database
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings.model_copy(update={"embedded_worker": False}), db) as c:
        yield c


async def test_queue_depth_counts_executions_no_worker_has_claimed(
    client_without_worker: httpx.AsyncClient, user: SignedInUser
) -> None:
    client = client_without_worker
    workflow_id = await create_workflow(client, user.headers, identity_graph())
    for n in range(3):
        assert (await start(client, user.headers, workflow_id, n)).status_code == 202

    samples = await scrape(client)

    assert value(samples, "relayflow_queue_depth") == 3
    assert value(samples, "relayflow_executions", status="pending") == 3
    # The oldest has waited since its start: a positive age, under a minute here.
    assert 0 < value(samples, "relayflow_oldest_pending_age_seconds") < 60


async def test_with_a_metrics_token_a_scrape_must_send_it(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    settings.metrics_token = SecretStr("scrape-" + "s" * 30)

    missing = await client.get("/metrics")
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer scrape-guess"})
    not_bearer = await client.get(
        "/metrics", headers={"Authorization": "Basic " + settings.metrics_token.get_secret_value()}
    )
    right = await client.get(
        "/metrics",
        headers={"Authorization": f"Bearer {settings.metrics_token.get_secret_value()}"},
    )

    for refused in (missing, wrong, not_bearer):
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        assert "RELAYFLOW_METRICS_TOKEN" in refused.json()["error"]["message"]
        assert "relayflow_" not in refused.text
    assert right.status_code == 200
    assert "relayflow_executions" in right.text


def count_status_reads(db: Database) -> list[str]:
    """The statements counting executions by status that reach the database, as sent."""
    seen: list[str] = []

    def before(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "GROUP BY executions.status" in statement:
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", before)
    return seen


async def scrape_then_run(client: httpx.AsyncClient, user: SignedInUser) -> Samples:
    """A scrape, then a run of a new workflow to its end; the scrape's samples."""
    workflow_id = await create_workflow(client, user.headers, identity_graph())
    samples = await scrape(client)
    finished = await start(client, user.headers, workflow_id, 1, wait=20)
    assert finished.json()["status"] == "completed"
    return samples


async def test_a_flood_of_scrapes_counts_the_history_once_per_refresh_interval(
    settings: Settings, db: Database, user: SignedInUser
) -> None:
    settings.metrics_refresh_s = 60.0
    reads = count_status_reads(db)
    async with app_client(settings, db) as client:
        first = await scrape_then_run(client, user)
        flood = await asyncio.gather(*(scrape(client) for _ in range(40)))

    assert len(reads) == 1  # 41 scrapes, one count of the history
    # Within the interval every scrape serves that reading: the run is not counted yet.
    assert value(first, "relayflow_executions", status="completed") == 0
    assert {value(s, "relayflow_executions", status="completed") for s in flood} == {0}


async def test_after_the_refresh_interval_a_scrape_reads_the_database_again(
    settings: Settings, db: Database, user: SignedInUser
) -> None:
    settings.metrics_refresh_s = 0.5
    reads = count_status_reads(db)
    async with app_client(settings, db) as client:
        before = await scrape_then_run(client, user)
        await asyncio.sleep(0.6)
        after = await scrape(client)

    assert len(reads) == 2
    assert value(before, "relayflow_executions", status="completed") == 0
    assert value(after, "relayflow_executions", status="completed") == 1
