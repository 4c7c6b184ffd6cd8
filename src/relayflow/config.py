"""One typed settings object, built once at start-up and passed down.

Every field is read from the environment with the `RELAYFLOW_` prefix
(nested fields use `__`, e.g. `RELAYFLOW_PRICES__OPENAI:GPT-4O__INPUT`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from relayflow.errors import ConfigError

JWT_SECRET_FILE = "jwt-secret"  # noqa: S105 (a file name, not a secret)
CREDENTIALS_KEY_FILE = "credentials-key"
MIN_SECRET_LENGTH = 32


class ModelPrice(BaseModel):
    """US dollars per million tokens."""

    input: float = 0.0
    output: float = 0.0


class OpenAICompatibleEndpoint(BaseModel):
    """A named OpenAI-compatible server, used as `NAME:model` in model strings."""

    base_url: str
    api_key: SecretStr | None = None


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("relayflow", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RELAYFLOW_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    # --- storage
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    database_pool_size: int = 10
    # SQLite: how long a statement waits for another writer's lock before the request
    # answers 503 (and the worker retries); see docs/runtime.md.
    sqlite_busy_timeout_s: float = Field(5.0, gt=0)
    # SQLite: pages kept in memory by each of the two hot-path connections of a process
    # (they fill only as pages are used; see `store.db.hot_path_cache`).
    sqlite_cache_mb: int = Field(32, ge=1, le=4096)
    migrate_on_start: bool = True

    # --- HTTP
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 1024 * 1024
    web_dist: Path | None = None
    cors_origins: list[str] = Field(default_factory=list)
    # Seconds between keep-alive comments on a quiet event stream (SSE).
    sse_keepalive_s: float = 15.0
    # Input limits on every JSON body and webhook body (docs/security.md). The depth
    # may not exceed 128, the depth up to which stored values are served whole.
    max_json_depth: int = Field(64, ge=1, le=128)
    max_string_length: int = Field(1_048_576, ge=1)  # characters, per string or key
    max_form_fields: int = Field(1000, ge=1)  # per form-encoded or multipart webhook body
    # `GET /metrics` requires `Authorization: Bearer <token>` when this is set.
    metrics_token: SecretStr | None = None
    # Its database gauges (executions by status, which counts the whole history, and
    # the queue) are read at most once per this many seconds, whatever the scrapes.
    metrics_refresh_s: float = Field(10.0, ge=0)

    # --- accounts
    jwt_secret: SecretStr | None = None
    access_token_minutes: int = 60
    allow_registration: bool = True
    # Every new account gets a copy of the offline demo workflow.
    demo_workflow: bool = True
    login_failures_before_delay: int = 3
    login_delay_max_s: float = 5.0
    # Hard limits (429 with Retry-After) on failed sign-ins per window, counted per
    # submitted email (registered or not) and per client address.
    login_max_failures_per_account: int = Field(10, ge=1)
    login_max_failures_per_address: int = Field(50, ge=1)
    login_failure_window_s: float = Field(900.0, gt=0)
    # Personal API tokens: how many an account may hold, and their lifetime in days
    # (the default when a token is created without one, and the longest allowed).
    max_api_tokens_per_user: int = Field(50, ge=1)
    api_token_default_days: int = Field(90, ge=1)
    api_token_max_days: int = Field(366, ge=1)
    # Credentials (relayflow.vault): the Fernet key their values are encrypted under,
    # and earlier keys still accepted for reading until `relayflow credentials rotate-key`.
    credentials_key: SecretStr | None = None
    credentials_previous_keys: list[SecretStr] = Field(default_factory=list)
    max_credentials_per_user: int = Field(200, ge=1)

    # --- engine
    http_allowlist: list[str] = Field(default_factory=list)
    # Nodes one execution runs at once, unless its workflow sets `max_parallel_nodes`;
    # a workflow may ask for up to the ceiling.
    max_parallel_nodes: int = Field(16, ge=1)
    max_parallel_nodes_ceiling: int = Field(256, ge=1)
    execution_timeout_s: float = 3600.0
    subworkflow_max_depth: int = 5
    # Template budgets (docs/security.md, "Templates"): the longest string and the
    # largest list or object (as JSON characters) a template may produce, its output
    # included; the longest range(); the largest integer in bits; the seconds one
    # render may take (or the node's timeout_s, if shorter); threads that render.
    template_max_chars: int = Field(2_000_000, ge=1)
    template_max_range: int = Field(100_000, ge=1)
    template_max_int_bits: int = Field(10_000, ge=64)
    template_max_render_s: float = Field(5.0, gt=0)
    template_render_threads: int = Field(4, ge=1)
    # Execution budgets (docs/security.md, "Execution budgets"): a breach fails the
    # execution with a reason naming the limit and the node.
    max_node_runs_per_execution: int = Field(10_000, ge=1)  # every row, nested ones included
    max_map_items: int = Field(1_000, ge=1)  # per map node
    max_node_output_bytes: int = Field(1_048_576, ge=1)  # a node's output as stored JSON
    max_events_per_execution: int = Field(100_000, ge=1)
    # Node attempts in `GET /executions/{id}`; the rest are paged at `.../node-runs`.
    execution_detail_node_runs: int = Field(500, ge=1, le=1000)
    # Nodes of sub-workflows and workflow maps at work at once, over an execution's tree.
    max_active_child_nodes: int = Field(4, ge=1)
    # At most this many database reads (workflow and template look-ups) of the worker's
    # executions at once, one per execution: the API keeps the rest of the pool.
    worker_db_reads: int = Field(4, ge=1)

    # --- models and providers
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None  # a proxy or gateway; the SDK's default otherwise
    ollama_base_url: str = "http://127.0.0.1:11434/v1"
    endpoints: dict[str, OpenAICompatibleEndpoint] = Field(default_factory=dict)
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    provider_concurrency: dict[str, int] = Field(default_factory=dict)
    default_provider_concurrency: int = 8
    # The model a new agent node starts with in the editor (GET /api/v1/auth/me tells it).
    default_model: str = Field("test:echo", pattern=r"^[^:\s]+:\S+$")

    # --- MCP servers as agent tools (docs/interop.md)
    # The stdio MCP servers agents may start, by name: `{"files": ["npx", "-y", "srv"]}`.
    # Only these commands ever run; a workflow names one, it never gives a command line.
    mcp_stdio_servers: dict[str, list[str]] = Field(default_factory=dict)
    mcp_max_servers_per_agent: int = Field(8, ge=1)
    mcp_connect_timeout_s: float = Field(10.0, gt=0)  # start (stdio) or connect, and handshake
    mcp_call_timeout_s: float = Field(60.0, gt=0)  # one tool call or tool listing

    # --- interoperability (docs/interop.md)
    # How long `/v1/chat/completions` and an MCP tool call wait for the run; past it
    # the caller gets an error naming the execution, which keeps running in the history.
    interop_wait_s: float = Field(300.0, gt=0)

    # --- runtime
    # A slot is held until the run's outcome is durable, so with 8 a worker drained
    # about 100 light runs/s on PostgreSQL whatever the CPU left (docs/performance.md).
    worker_concurrency: int = Field(32, ge=1)
    user_concurrency: int = 32
    lease_seconds: float = 30.0
    heartbeat_seconds: float = 10.0
    poll_seconds: float = 2.0
    # PostgreSQL: how often each worker looks whether the executions table needs a
    # VACUUM autovacuum has not made (`store.queue.upkeep`; 0: never), and the dead
    # rows that make it one.
    queue_vacuum_interval_s: float = Field(60.0, ge=0)
    queue_vacuum_dead_rows: int = Field(1000, ge=1)
    max_lost_leases: int = 3
    shutdown_grace_s: float = 30.0
    # Without a database, `stop()` gives up writing what is queued after this long
    # (after the grace), dropping it: those nodes run again when the execution resumes.
    shutdown_write_deadline_s: float = Field(10.0, ge=0)
    # A run whose lease went this fraction of `lease_seconds` without a renewal starts
    # no new node until a renewal holds (docs/runtime.md, "What survives a crash").
    lease_at_risk_fraction: float = Field(0.5, gt=0, le=1)
    # Retention (docs/runtime.md): finished executions older than this many days are
    # deleted by the scheduler, unless their workflow sets `retention_days`. None (the
    # default) keeps every execution until configured.
    retention_days: int | None = Field(None, ge=1)
    retention_batch_size: int = Field(500, ge=1)  # executions per delete transaction
    retention_max_batches_per_pass: int = Field(20, ge=1)  # then schedules get their turn
    retention_every_s: float = Field(60.0, gt=0)  # between passes once nothing is left
    # `relayflow serve` runs a worker too unless this is off (`--no-worker`): in a process
    # of its own beside `api_processes` API processes, which serve supervises
    # (docs/runtime.md), or all in one process with `serve_single_process`.
    embedded_worker: bool = True
    serve_single_process: bool = False
    api_processes: int = Field(1, ge=1, le=64)
    # `relayflow worker` serves its own Prometheus figures on this port (127.0.0.1 unless
    # `metrics_host` says otherwise); the API serves them at `GET /metrics` on its port.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"

    # --- logs and traces
    log_format: Literal["text", "json"] = "text"  # json: one object per line, with ids
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # OTLP/HTTP collector (http://host:4318): spans of executions, nodes and model calls.
    otel_endpoint: str | None = None
    otel_service_name: str = "relayflow"
    otel_export_timeout_s: float = 10.0

    # --- triggers (webhooks and schedules)
    webhook_idempotency_window_s: float = 24 * 3600.0
    webhook_signature_tolerance_s: float = 300.0
    webhook_max_wait_s: float = 120.0  # the cap on `POST /hooks/{id}?wait=SECONDS`
    scheduler_enabled: bool = True
    scheduler_poll_s: float = 1.0
    schedule_misfire_grace_s: float = 60.0  # later than this, a tick counts as missed

    # --- workflow versions
    # None keeps every version; N keeps the newest N that are not published (the
    # published one is always kept, the draft is always among the newest).
    versions_keep_unpublished: int | None = Field(None, ge=1)

    @property
    def is_postgres(self) -> bool:
        return self.resolved_database_url.startswith("postgresql")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Accept the usual spellings and pin the async drivers we ship.
            for plain, driver in (
                ("postgres://", "postgresql+asyncpg://"),
                ("postgresql://", "postgresql+asyncpg://"),
                ("sqlite:///", "sqlite+aiosqlite:///"),
            ):
                if url.startswith(plain):
                    return driver + url[len(plain) :]
            return url
        return f"sqlite+aiosqlite:///{self.data_dir / 'relayflow.db'}"

    def signing_secret(self) -> str:
        """The JWT secret; generated once into the data dir for the embedded default.

        A PostgreSQL installation is shared by several processes, so it must be
        given a secret explicitly rather than each process inventing its own.
        """
        if self.jwt_secret is not None:
            value = self.jwt_secret.get_secret_value()
            if len(value) < MIN_SECRET_LENGTH:
                raise ConfigError(
                    f"RELAYFLOW_JWT_SECRET must be at least {MIN_SECRET_LENGTH} characters"
                )
            return value
        if self.is_postgres:
            raise ConfigError(
                "RELAYFLOW_JWT_SECRET is not set: a PostgreSQL installation needs an "
                "explicit signing secret shared by all its processes"
            )
        path = self.data_dir / JWT_SECRET_FILE
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process won the race: use its secret
            return path.read_text().strip()
        with os.fdopen(fd, "w") as f:
            f.write(value)
        return value

    def credential_keys(self) -> list[str]:
        """The credentials keyring, current key first; generated into the data dir for SQLite.

        Like the signing secret, a PostgreSQL installation must be given its key:
        every process has to decrypt what any other encrypted.
        """
        previous = [k.get_secret_value() for k in self.credentials_previous_keys]
        if self.credentials_key is not None:
            return [self.credentials_key.get_secret_value(), *previous]
        if self.is_postgres:
            raise ConfigError(
                "RELAYFLOW_CREDENTIALS_KEY is not set: a PostgreSQL installation needs an "
                "explicit credentials key shared by all its processes "
                "(make one with `relayflow credentials new-key`)"
            )
        return [*self.credential_key_file_lines(), *previous]

    def credential_key_file_lines(self) -> list[str]:
        """The keys in the data dir's key file (current first), made on first use."""
        from cryptography.fernet import Fernet

        path = self.data_dir / CREDENTIALS_KEY_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(Fernet.generate_key().decode() + "\n")
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
