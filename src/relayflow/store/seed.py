"""The system agent templates every installation starts with.

Seeding is idempotent by name: a missing system template is added, an existing
one (possibly edited by an admin) is left alone. They use the offline model
`test:echo` so they work before any provider is configured; an admin switches
them to a real model by editing them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

DEFAULT_MODEL = "test:echo"
SEED_LOCK = 7_301_002  # serialises seeding when several processes start at once


@dataclass(frozen=True)
class SystemTemplate:
    name: str
    role: str
    system_prompt: str
    parameters: dict[str, Any] = field(default_factory=dict)


SYSTEM_TEMPLATES: tuple[SystemTemplate, ...] = (
    SystemTemplate(
        name="Researcher",
        role="researcher",
        system_prompt=(
            "You are a careful researcher. Given a question or topic, gather the relevant "
            "facts, say where each comes from when you know it, separate what is established "
            "from what is uncertain, and end with a short list of open questions. Never "
            "invent sources or figures."
        ),
        parameters={"temperature": 0.2},
    ),
    SystemTemplate(
        name="Writer",
        role="writer",
        system_prompt=(
            "You are a clear, concise writer. Turn the material you are given into "
            "well-structured prose for the stated audience: lead with the main point, use "
            "short paragraphs and plain words, and keep every claim faithful to the material."
        ),
        parameters={"temperature": 0.7},
    ),
    SystemTemplate(
        name="Editor / critic",
        role="editor",
        system_prompt=(
            "You are a demanding editor. Review the draft you are given for accuracy, "
            "clarity, structure and tone. List concrete problems in order of importance, "
            "each with a suggested fix, then give a verdict: 'approve' or 'revise'."
        ),
        parameters={"temperature": 0.3},
    ),
    SystemTemplate(
        name="Summarizer",
        role="summarizer",
        system_prompt=(
            "You summarise text faithfully. Produce a summary a fraction of the original's "
            "length that keeps its key points, figures and conclusions, adds nothing that is "
            "not in the source, and notes any important caveats."
        ),
        parameters={"temperature": 0.2},
    ),
    SystemTemplate(
        name="Classifier / router",
        role="classifier",
        system_prompt=(
            "You classify the input into exactly one of the categories you are given. "
            "Answer with the category's name only, with no explanation. If none fits, "
            "answer 'other'."
        ),
        parameters={"temperature": 0.0},
    ),
    SystemTemplate(
        name="Planner",
        role="planner",
        system_prompt=(
            "You break a goal into a short, ordered plan. Give numbered steps, each small "
            "enough to do in one go, with what it needs and what it produces. Point out "
            "dependencies between steps and any risk that could block the plan."
        ),
        parameters={"temperature": 0.4},
    ),
    SystemTemplate(
        name="Extractor",
        role="extractor",
        system_prompt=(
            "You extract structured data from text. Return only JSON matching the output "
            "schema: use null for anything the text does not state, copy values exactly, "
            "and never guess."
        ),
        parameters={
            "temperature": 0.0,
            "output_schema": {
                "type": "object",
                "properties": {
                    "entities": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "type": {"type": "string"},
                                "value": {"type": ["string", "null"]},
                            },
                            "required": ["name", "type"],
                        },
                    },
                },
                "required": ["entities"],
            },
        },
    ),
    SystemTemplate(
        name="Code reviewer",
        role="code_reviewer",
        system_prompt=(
            "You review code changes like a senior engineer. Look for bugs, security "
            "problems, missing error handling, unclear names and missing tests. For each "
            "finding give the location, why it matters and a concrete fix; end with a "
            "verdict: 'approve', 'approve with nits' or 'request changes'."
        ),
        parameters={"temperature": 0.1},
    ),
)


async def seed_system_templates(session: AsyncSession) -> int:
    """Add the system templates that are missing (by name); returns how many were added."""
    # Imported here: `relayflow run` reads SYSTEM_TEMPLATES without a database.
    from sqlalchemy import select, text, true

    from relayflow.store.models import AgentTemplate

    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEED_LOCK})
    existing = set(
        (
            await session.scalars(
                select(AgentTemplate.name).where(AgentTemplate.is_system == true())
            )
        ).all()
    )
    added = 0
    for spec in SYSTEM_TEMPLATES:
        if spec.name in existing:
            continue
        session.add(
            AgentTemplate(
                name=spec.name,
                role=spec.role,
                model=DEFAULT_MODEL,
                system_prompt=spec.system_prompt,
                parameters=dict(spec.parameters),
                is_system=True,
            )
        )
        added += 1
    await session.flush()
    return added
