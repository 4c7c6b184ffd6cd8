// One function per API operation the screens use, each a typed call through `api`.
import { api, call } from "./client";
import type {
  AgentTemplate,
  AgentTemplateCreate,
  ApiToken,
  ApiTokenCreate,
  ApiTokenCreated,
  Credential,
  CredentialChange,
  CredentialCreate,
  Execution,
  ExecutionStart,
  ExecutionStatus,
  ExecutionPage,
  Graph,
  LoginAnswer,
  ScheduleCreate,
  SchedulePatch,
  User,
  VersionDetail,
  VersionDiff,
  VersionList,
  Workflow,
  WorkflowVersion,
  WorkflowCreate,
  WorkflowPage,
} from "./types";

// ------------------------------------------------------------------ accounts
export const accounts = {
  register: (body: { email: string; password: string; name?: string | null }) =>
    call(api.POST("/api/v1/auth/register", { body })),
  login: (body: { email: string; password: string }): Promise<LoginAnswer> =>
    call(api.POST("/api/v1/auth/login", { body })),
  me: (): Promise<User> => call(api.GET("/api/v1/auth/me")),
  /** Ends every other sign-in; the answer carries this session's new token. */
  changePassword: (body: { current_password: string; new_password: string }): Promise<LoginAnswer> =>
    call(api.POST("/api/v1/auth/password", { body })),
};

// ------------------------------------------------------------------ workflows
export type WorkflowScope = "mine" | "public" | "all";

export const workflows = {
  list: (scope: WorkflowScope, cursor?: string | null): Promise<WorkflowPage> =>
    call(
      api.GET("/api/v1/workflows", {
        params: { query: { scope, limit: 100, cursor: cursor ?? undefined } },
      }),
    ),
  get: (id: string): Promise<Workflow> =>
    call(api.GET("/api/v1/workflows/{workflow_id}", { params: { path: { workflow_id: id } } })),
  create: (body: WorkflowCreate): Promise<Workflow> =>
    call(api.POST("/api/v1/workflows", { body })),
  update: (id: string, body: Partial<WorkflowCreate>): Promise<Workflow> =>
    call(
      api.PATCH("/api/v1/workflows/{workflow_id}", {
        params: { path: { workflow_id: id } },
        body,
      }),
    ),
  remove: (id: string) =>
    call(api.DELETE("/api/v1/workflows/{workflow_id}", { params: { path: { workflow_id: id } } })),
  validate: (graph: Graph) =>
    call(api.POST("/api/v1/workflows/validate", { body: graph })),
};

// ------------------------------------------------------------------ versions
const versionPath = (id: string, number: number) => ({ path: { workflow_id: id, number } });

export const versions = {
  list: (id: string): Promise<VersionList> =>
    call(
      api.GET("/api/v1/workflows/{workflow_id}/versions", {
        params: { path: { workflow_id: id }, query: { limit: 200 } },
      }),
    ),
  get: (id: string, number: number): Promise<VersionDetail> =>
    call(api.GET("/api/v1/workflows/{workflow_id}/versions/{number}", { params: versionPath(id, number) })),
  /** Publishes the draft, or `version` if given. */
  publish: (id: string, body: { version?: number; message?: string } = {}): Promise<WorkflowVersion> =>
    call(api.POST("/api/v1/workflows/{workflow_id}/publish", { params: { path: { workflow_id: id } }, body })),
  restore: (id: string, number: number): Promise<VersionDetail> =>
    call(
      api.POST("/api/v1/workflows/{workflow_id}/versions/{number}/restore", { params: versionPath(id, number) }),
    ),
  diff: (id: string, a: number, b: number): Promise<VersionDiff> =>
    call(
      api.GET("/api/v1/workflows/{workflow_id}/versions/{a}/diff/{b}", {
        params: { path: { workflow_id: id, a, b } },
      }),
    ),
};

// ------------------------------------------------------------------ agent templates
export const templates = {
  list: (scope?: "system" | "mine"): Promise<AgentTemplate[]> =>
    call(
      api.GET("/api/v1/agent-templates", { params: { query: { scope, limit: 200 } } }),
    ).then((page) => page.items),
  create: (body: AgentTemplateCreate): Promise<AgentTemplate> =>
    call(api.POST("/api/v1/agent-templates", { body })),
  update: (id: string, body: Partial<AgentTemplateCreate>): Promise<AgentTemplate> =>
    call(
      api.PATCH("/api/v1/agent-templates/{template_id}", {
        params: { path: { template_id: id } },
        body,
      }),
    ),
  remove: (id: string) =>
    call(
      api.DELETE("/api/v1/agent-templates/{template_id}", {
        params: { path: { template_id: id } },
      }),
    ),
};

// ------------------------------------------------------------------ credentials and API tokens
export const credentials = {
  list: (): Promise<Credential[]> => call(api.GET("/api/v1/credentials")),
  get: (id: string): Promise<Credential> =>
    call(api.GET("/api/v1/credentials/{credential_id}", { params: { path: { credential_id: id } } })),
  create: (body: CredentialCreate): Promise<Credential> => call(api.POST("/api/v1/credentials", { body })),
  update: (id: string, body: CredentialChange): Promise<Credential> =>
    call(
      api.PATCH("/api/v1/credentials/{credential_id}", {
        params: { path: { credential_id: id } },
        body,
      }),
    ),
  remove: (id: string) =>
    call(api.DELETE("/api/v1/credentials/{credential_id}", { params: { path: { credential_id: id } } })),
  /** Model providers only: tries the stored key against the provider's models listing. */
  test: (id: string): Promise<{ ok: boolean; message: string }> =>
    call(api.POST("/api/v1/credentials/{credential_id}/test", { params: { path: { credential_id: id } } })),
};

export const apiTokens = {
  list: (): Promise<ApiToken[]> => call(api.GET("/api/v1/tokens")),
  create: (body: ApiTokenCreate): Promise<ApiTokenCreated> => call(api.POST("/api/v1/tokens", { body })),
  revoke: (id: string) => call(api.DELETE("/api/v1/tokens/{token_id}", { params: { path: { token_id: id } } })),
};

// ------------------------------------------------------------------ executions
export interface ExecutionFilter {
  workflowId?: string;
  status?: ExecutionStatus | null;
  cursor?: string | null;
}

export const executions = {
  /** `trigger`: where the run is started from, shown in the executions list. */
  start: (workflowId: string, input: unknown, trigger: ExecutionStart["trigger"] = "api") =>
    call(
      api.POST("/api/v1/workflows/{workflow_id}/executions", {
        params: { path: { workflow_id: workflowId } },
        body: { input, trigger },
      }),
    ),
  list: (filter: ExecutionFilter): Promise<ExecutionPage> =>
    call(
      api.GET("/api/v1/executions", {
        params: {
          query: {
            workflow_id: filter.workflowId,
            status: filter.status ?? undefined,
            cursor: filter.cursor ?? undefined,
            limit: 50,
          },
        },
      }),
    ),
  /** One execution with every node run: the detail holds the first page, the rest follow. */
  get: async (id: string): Promise<Execution> => {
    const execution = await call(
      api.GET("/api/v1/executions/{execution_id}", { params: { path: { execution_id: id } } }),
    );
    let cursor = execution.node_runs_next_cursor;
    const runs = [...execution.node_runs];
    while (cursor) {
      const page = await call(
        api.GET("/api/v1/executions/{execution_id}/node-runs", {
          params: { path: { execution_id: id }, query: { cursor, limit: 1000 } },
        }),
      );
      runs.push(...page.items);
      cursor = page.next_cursor;
    }
    return { ...execution, node_runs: runs, node_runs_next_cursor: null };
  },
  cancel: (id: string) =>
    call(
      api.POST("/api/v1/executions/{execution_id}/cancel", {
        params: { path: { execution_id: id } },
      }),
    ),
  rerun: (id: string, fromNode?: string | null) =>
    call(
      api.POST("/api/v1/executions/{execution_id}/rerun", {
        params: { path: { execution_id: id } },
        body: fromNode ? { from_node: fromNode } : {},
      }),
    ),
  decide: (id: string, nodeId: string, approved: boolean, comment?: string) =>
    call(
      api.POST("/api/v1/executions/{execution_id}/approvals/{node_id}", {
        params: { path: { execution_id: id, node_id: nodeId } },
        body: { approved, comment: comment || null },
      }),
    ),
};

// ------------------------------------------------------------------ webhooks
export const webhooks = {
  list: (workflowId: string) =>
    call(
      api.GET("/api/v1/workflows/{workflow_id}/webhooks", {
        params: { path: { workflow_id: workflowId } },
      }),
    ),
  create: (workflowId: string, name: string | null) =>
    call(
      api.POST("/api/v1/workflows/{workflow_id}/webhooks", {
        params: { path: { workflow_id: workflowId } },
        body: { name },
      }),
    ),
  /** Switch `enabled` and/or `require_signature`. */
  update: (id: string, changes: { enabled?: boolean; require_signature?: boolean }) =>
    call(
      api.PATCH("/api/v1/webhooks/{webhook_id}", {
        params: { path: { webhook_id: id } },
        body: changes,
      }),
    ),
  /** A new signing secret, shown once; the previous one (if any) stops working at once. */
  issueSigningSecret: (id: string, requireSignature: boolean) =>
    call(
      api.POST("/api/v1/webhooks/{webhook_id}/signing-secret", {
        params: { path: { webhook_id: id } },
        body: { require_signature: requireSignature },
      }),
    ),
  removeSigningSecret: (id: string) =>
    call(
      api.DELETE("/api/v1/webhooks/{webhook_id}/signing-secret", {
        params: { path: { webhook_id: id } },
      }),
    ),
  rotate: (id: string) =>
    call(api.POST("/api/v1/webhooks/{webhook_id}/rotate", { params: { path: { webhook_id: id } } })),
  remove: (id: string) =>
    call(api.DELETE("/api/v1/webhooks/{webhook_id}", { params: { path: { webhook_id: id } } })),
};

// ------------------------------------------------------------------ schedules
export const schedules = {
  list: (workflowId: string) =>
    call(
      api.GET("/api/v1/workflows/{workflow_id}/schedules", {
        params: { path: { workflow_id: workflowId } },
      }),
    ),
  create: (workflowId: string, body: ScheduleCreate) =>
    call(
      api.POST("/api/v1/workflows/{workflow_id}/schedules", {
        params: { path: { workflow_id: workflowId } },
        body,
      }),
    ),
  /** Changes only the fields given; the answer has the new next runs and description. */
  update: (workflowId: string, id: string, body: SchedulePatch) =>
    call(
      api.PATCH("/api/v1/workflows/{workflow_id}/schedules/{schedule_id}", {
        params: { path: { workflow_id: workflowId, schedule_id: id } },
        body,
      }),
    ),
  setEnabled: (workflowId: string, id: string, enabled: boolean) =>
    call(
      api.PATCH("/api/v1/workflows/{workflow_id}/schedules/{schedule_id}", {
        params: { path: { workflow_id: workflowId, schedule_id: id } },
        body: { enabled },
      }),
    ),
  remove: (workflowId: string, id: string) =>
    call(
      api.DELETE("/api/v1/workflows/{workflow_id}/schedules/{schedule_id}", {
        params: { path: { workflow_id: workflowId, schedule_id: id } },
      }),
    ),
};
