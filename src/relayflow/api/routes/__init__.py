"""Every router the app mounts, in order."""

from fastapi import APIRouter

from relayflow.api.routes import health
from relayflow.api.routes.agent_templates import router as agent_templates_router
from relayflow.api.routes.auth import router as auth_router
from relayflow.api.routes.credentials import router as credentials_router
from relayflow.api.routes.executions import router as executions_router
from relayflow.api.routes.hooks import router as hooks_router
from relayflow.api.routes.metrics import router as metrics_router
from relayflow.api.routes.openai_chat import router as openai_chat_router
from relayflow.api.routes.schedules import router as schedules_router
from relayflow.api.routes.tokens import router as tokens_router
from relayflow.api.routes.validation import router as validation_router
from relayflow.api.routes.versions import router as versions_router
from relayflow.api.routes.webhook_signing import router as webhook_signing_router
from relayflow.api.routes.webhooks import router as webhooks_router
from relayflow.api.routes.workflows import router as workflows_router

ROUTERS: list[APIRouter] = [health.router]
# Webhook intake early: its hot path then matches without scanning every API route.
ROUTERS += [hooks_router, schedules_router, webhook_signing_router]
ROUTERS += [auth_router, workflows_router, agent_templates_router, webhooks_router]
ROUTERS += [validation_router, tokens_router, credentials_router, versions_router]
ROUTERS += [executions_router, metrics_router]
ROUTERS += [openai_chat_router]
