"""Every router the app mounts, in order."""

from fastapi import APIRouter

from relayflow.api.routes import health

ROUTERS: list[APIRouter] = [health.router]
