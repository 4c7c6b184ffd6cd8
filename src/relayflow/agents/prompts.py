"""The system prompt an agent is given: who it is, then its own instructions."""

from __future__ import annotations

from relayflow.engine.ports import AgentProfile


def system_prompt_for(profile: AgentProfile) -> str:
    intro = f"Your name is {profile.name}. Your role: {profile.role}."
    return f"{intro}\n\n{profile.system_prompt}" if profile.system_prompt else intro
