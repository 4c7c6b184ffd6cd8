"""A ready `curl` line for trying a webhook (the key stays a shell variable)."""

from __future__ import annotations

import uuid

KEY_VARIABLE = "RELAYFLOW_WEBHOOK_KEY"


def curl_line(base_url: str, webhook_id: uuid.UUID) -> str:
    base = base_url.rstrip("/") or "$RELAYFLOW_URL"
    return (
        f'curl -X POST "{base}/hooks/{webhook_id}" '
        f'-H "X-API-Key: ${KEY_VARIABLE}" '
        "-H 'Content-Type: application/json' -d '{}'"
    )
