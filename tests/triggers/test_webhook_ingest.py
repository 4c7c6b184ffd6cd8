"""The intake's database work on each database, and its agreement with the runtime's."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select

from relayflow.errors import NotFound
from relayflow.input_schema import input_schema_of
from relayflow.security import hash_api_key
from relayflow.store import models
from relayflow.store.db import Database
from relayflow.store.queue.drivers import asyncpg_dsn
from relayflow.store.queue.intake import NewExecution
from relayflow.store.queue.interface import Queue
from relayflow.store.queue.pending import create_pending_execution
from tests.support.rows import make_user, make_workflow
from tests.triggers.conftest import Hook, MakeHook

SCHEMA = {"type": "object", "required": ["n"]}


@pytest.fixture
def store(db: Database) -> Queue:
    return db.queue


async def test_the_input_schema_comes_only_with_the_right_key(
    store: Queue, make_hook: MakeHook
) -> None:
    hook = await make_hook(schema=SCHEMA)
    right = await store.find_webhook(hook.id, hash_api_key(hook.key))
    wrong = await store.find_webhook(hook.id, hash_api_key("rf_wrong"))
    assert right is not None
    assert wrong is not None
    assert right.input_schema == SCHEMA
    assert wrong.input_schema is None
    assert await store.find_webhook(uuid.uuid4(), hash_api_key(hook.key)) is None


@pytest.mark.parametrize("idempotency_key", [None, "k1"])
async def test_a_workflow_deleted_meanwhile_is_not_found(
    store: Queue, db: Database, hook: Hook, idempotency_key: str | None
) -> None:
    target = await store.find_webhook(hook.id, hash_api_key(hook.key))
    assert target is not None
    async with db.transaction() as session:
        workflow = await session.get(models.Workflow, hook.workflow_id)
        await session.delete(workflow)
    with pytest.raises(NotFound, match="not found"):
        await store.create_from_webhook(
            target, NewExecution(uuid.uuid4(), {}, {"type": "webhook"}, idempotency_key)
        )


def _row(execution: models.Execution) -> dict[str, Any]:
    skip = {"id", "started_at", "updated_at"}
    return {
        c.key: getattr(execution, c.key)
        for c in models.Execution.__mapper__.column_attrs
        if c.key not in skip
    }


async def test_the_one_statement_insert_writes_what_create_pending_execution_writes(
    db: Database, make_hook: MakeHook
) -> None:
    # PostgreSQL: the direct asyncpg INSERT ... SELECT; SQLite: its SQLAlchemy twin.
    hook = await make_hook(schema=SCHEMA)
    fast = db.queue
    target = await fast.find_webhook(hook.id, hash_api_key(hook.key))
    assert target is not None
    value, trigger = {"n": 1, "text": "héllo"}, {"type": "webhook", "headers": {"a": "b"}}
    await fast.create_from_webhook(target, NewExecution(uuid.uuid4(), value, trigger))
    await fast.create_from_webhook(target, NewExecution(uuid.uuid4(), None, trigger))
    async with db.transaction() as session:
        workflow = await session.get(models.Workflow, hook.workflow_id)
        assert workflow is not None
        for each in (value, None):
            await create_pending_execution(
                session, workflow=workflow, input=each, trigger=trigger, user_id=workflow.user_id
            )
    async with db.session() as session:
        rows = list(
            await session.scalars(select(models.Execution).order_by(models.Execution.started_at))
        )
    fast_rows, reference_rows = [_row(e) for e in rows[:2]], [_row(e) for e in rows[2:]]
    assert fast_rows == reference_rows


async def _drop_connections(db: Database) -> None:
    """What a database restart does to the intake's idle pooled connections."""
    admin = await asyncpg.connect(asyncpg_dsn(db.url))
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()


@pytest.mark.postgres_only
@pytest.mark.parametrize("idempotency_key", [None, "k1"])
async def test_connections_the_server_dropped_are_replaced(
    db: Database, hook: Hook, idempotency_key: str | None
) -> None:
    store = db.queue
    assert await store.find_webhook(hook.id, hash_api_key(hook.key)) is not None
    await _drop_connections(db)
    target = await store.find_webhook(hook.id, hash_api_key(hook.key))
    assert target is not None
    await _drop_connections(db)
    new = NewExecution(uuid.uuid4(), {"n": 1}, {"type": "webhook"}, idempotency_key)
    created = await store.create_from_webhook(target, new)
    assert (created.execution_id, created.replayed) == (new.execution_id, False)
    async with db.session() as session:
        ids = list(await session.scalars(select(models.Execution.id)))
    assert ids == [new.execution_id]


def _plain(value: Any = None) -> NewExecution:
    return NewExecution(uuid.uuid4(), value or {"n": 1}, {"type": "webhook"})


@pytest.mark.postgres_only
async def test_a_plain_start_on_a_dropped_connection_is_retried_once(
    db: Database, store: Queue, hook: Hook
) -> None:
    await store.find_webhook(hook.id, hash_api_key(hook.key))  # a pooled connection
    await _drop_connections(db)
    new = _plain()
    found = await store.find_webhook_and_start(
        hook.id, hash_api_key(hook.key), key_in_query=False, plain=new
    )
    assert found is not None
    assert found.started
    async with db.session() as session:
        ids = list(await session.scalars(select(models.Execution.id)))
    assert ids == [new.execution_id]


@pytest.mark.postgres_only
async def test_a_plain_delivery_is_started_with_its_look_up_as_create_from_webhook_would(
    db: Database, store: Queue, hook: Hook
) -> None:
    value = {"n": 1, "text": "héllo"}
    new = _plain(value)
    found = await store.find_webhook_and_start(
        hook.id, hash_api_key(hook.key), key_in_query=False, plain=new
    )
    assert found is not None
    assert found.started
    assert found.target == await store.find_webhook(hook.id, hash_api_key(hook.key))
    reference = _plain(value)
    await store.create_from_webhook(found.target, reference)
    async with db.session() as session:
        started = await session.get(models.Execution, new.execution_id)
        written = await session.get(models.Execution, reference.execution_id)
        assert started is not None
        assert written is not None
        assert _row(started) == _row(written)
        assert started.status == "pending"


@pytest.mark.parametrize(
    ("case", "columns"),
    [
        ("wrong key", {}),
        ("key in the query where not allowed", {}),
        ("disabled", {"enabled": False}),
        ("rate limited", {"rate_limit_per_minute": 10}),
        ("signature required", {"require_signature": True}),
        ("signing secret", {"signing_secret_salt": "salt"}),
        ("input schema", {}),
        ("never published", {}),
    ],
)
async def test_a_delivery_the_database_cannot_check_is_only_looked_up(
    db: Database, store: Queue, make_hook: MakeHook, case: str, columns: dict[str, Any]
) -> None:
    hook = await make_hook(schema=SCHEMA if case == "input schema" else None, **columns)
    if case == "never published":
        async with db.transaction() as session:
            workflow = await session.get(models.Workflow, hook.workflow_id)
            assert workflow is not None
            workflow.published_version = None
    key = "rf_wrong" if case == "wrong key" else hook.key
    found = await store.find_webhook_and_start(
        hook.id,
        hash_api_key(key),
        key_in_query=case == "key in the query where not allowed",
        plain=_plain(),
    )
    assert found is not None
    assert not found.started
    assert found.target.id == hook.id
    async with db.session() as session:
        assert list(await session.scalars(select(models.Execution.id))) == []


async def test_an_unknown_webhook_is_neither_found_nor_started(
    db: Database, store: Queue, hook: Hook
) -> None:
    found = await store.find_webhook_and_start(
        uuid.uuid4(), hash_api_key(hook.key), key_in_query=False, plain=_plain()
    )
    assert found is None
    async with db.session() as session:
        assert list(await session.scalars(select(models.Execution.id))) == []


@pytest.mark.parametrize(
    "nodes",
    [
        [{"id": "in", "type": "input", "data": {"schema": SCHEMA}}],
        [{"id": "in", "type": "input", "data": {"schema": {}}}],
        [{"id": "in", "type": "input", "data": {"schema": "not a schema"}}],
        [{"id": "in", "type": "input"}],
        [{"id": "a", "type": "output"}, {"id": "in", "type": "input", "data": {"schema": SCHEMA}}],
        [{"id": "in", "type": "input", "data": {}}, {"type": "input", "data": {"schema": SCHEMA}}],
        ["odd", 7, None, {"id": "in", "type": "input", "data": {"schema": SCHEMA}}],
        [],
    ],
)
async def test_the_start_look_up_reads_the_input_schema_as_the_engine_does(
    db: Database, store: Queue, nodes: list[Any]
) -> None:
    # Only the schema leaves the database; it must be the one `input_schema_of` finds.
    user = await make_user(db)
    workflow = await make_workflow(db, user, {"nodes": nodes, "edges": []})
    starter = await store.find_starter(user, workflow.id)
    assert starter is not None
    assert starter.target is not None
    assert starter.target.input_schema == input_schema_of(nodes)
