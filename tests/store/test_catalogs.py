"""What an execution may use: templates and workflows its user can read."""

from __future__ import annotations

import uuid

from relayflow.store import models
from relayflow.store.catalogs import SqlTemplateCatalog, SqlWorkflowCatalog
from relayflow.store.db import Database
from tests.support.rows import make_user, make_workflow


async def make_template(db: Database, owner: uuid.UUID | None, *, system: bool = False) -> str:
    template = models.AgentTemplate(
        id=uuid.uuid4(),
        name="t",
        role="writer",
        model="test:echo",
        system_prompt="write",
        is_system=system,
        user_id=owner,
    )
    async with db.transaction() as session:
        session.add(template)
    return str(template.id)


async def test_a_run_sees_system_templates_and_its_users_own_only(db: Database) -> None:
    alice, bob, admin = await make_user(db), await make_user(db), await make_user(db, role="admin")
    alices = await make_template(db, alice)
    shared = await make_template(db, None, system=True)
    catalog = SqlTemplateCatalog(db)
    for_alice, for_bob = catalog.for_user(alice), catalog.for_user(bob)
    profile = await for_alice.get_profile(alices)
    assert profile is not None
    assert (profile.model, profile.role, profile.system_prompt) == ("test:echo", "writer", "write")
    assert await for_bob.get_profile(alices) is None  # like an unknown id
    assert await for_bob.get_profile(shared) is not None
    assert await catalog.for_user(admin).get_profile(alices) is not None
    assert await for_alice.get_profile(str(uuid.uuid4())) is None
    assert await for_alice.get_profile("not-a-uuid") is None


async def test_a_run_may_call_its_users_and_public_workflows_only(db: Database) -> None:
    alice, bob = await make_user(db), await make_user(db)
    private = await make_workflow(db, alice)
    public = await make_workflow(db, alice, public=True)
    catalog = SqlWorkflowCatalog(db)
    graph = await catalog.get_graph(str(private.id), user_id=alice)
    assert graph == {"nodes": private.nodes, "edges": private.edges}
    assert await catalog.get_graph(str(private.id), user_id=bob) is None
    assert await catalog.get_graph(str(public.id), user_id=bob) is not None
    assert await catalog.get_graph("nope", user_id=alice) is None
