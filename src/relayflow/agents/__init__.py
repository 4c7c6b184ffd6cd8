"""Agents: model resolution (`provider:model`), pydantic-ai runs, tools, offline models.

`runner.ModelAgentRunner` implements `engine.ports.AgentRunner`; everything else
here serves it.
"""
