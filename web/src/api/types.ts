// Shapes the screens use, derived from the generated OpenAPI types where the API declares them.
import type { components, paths } from "./schema";

type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;
/** The JSON body of a path's successful answer (200, 201 or 202). */
export type ResponseOf<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  responses: infer R;
}
  ? R extends { 200: infer A }
    ? Json<A>
    : R extends { 201: infer A }
      ? Json<A>
      : R extends { 202: infer A }
        ? Json<A>
        : never
  : never;
/** The JSON request body a path accepts. */
export type BodyOf<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  requestBody?: infer B;
}
  ? Json<NonNullable<B>>
  : never;

export type User = ResponseOf<"/api/v1/auth/me", "get">;
export type LoginAnswer = ResponseOf<"/api/v1/auth/login", "post">;
export type Workflow = ResponseOf<"/api/v1/workflows/{workflow_id}", "get">;
export type WorkflowPage = ResponseOf<"/api/v1/workflows", "get">;
export type WorkflowCreate = BodyOf<"/api/v1/workflows", "post">;
export type AgentTemplate = ResponseOf<"/api/v1/agent-templates/{template_id}", "get">;
export type AgentTemplateCreate = BodyOf<"/api/v1/agent-templates", "post">;
/** A webhook as lists show it: its key is never shown again, only its prefix. */
export type Webhook = ResponseOf<"/api/v1/workflows/{workflow_id}/webhooks", "get">["items"][number];
/** The answer that shows a webhook's signing secret, once. */
export type SigningSecret = ResponseOf<"/api/v1/webhooks/{webhook_id}/signing-secret", "post">;
export type Execution = ResponseOf<"/api/v1/executions/{execution_id}", "get">;
export type ExecutionPage = ResponseOf<"/api/v1/executions", "get">;
export type Schedule = ResponseOf<"/api/v1/workflows/{workflow_id}/schedules", "post">;
export type ScheduleCreate = BodyOf<"/api/v1/workflows/{workflow_id}/schedules", "post">;
export type ExecutionStart = NonNullable<BodyOf<"/api/v1/workflows/{workflow_id}/executions", "post">>;
export type SchedulePatch = BodyOf<"/api/v1/workflows/{workflow_id}/schedules/{schedule_id}", "patch">;
/** A credential as the API shows it: settings in the clear, the value only masked. */
export type Credential = ResponseOf<"/api/v1/credentials/{credential_id}", "get">;
export type CredentialCreate = BodyOf<"/api/v1/credentials", "post">;
export type CredentialChange = BodyOf<"/api/v1/credentials/{credential_id}", "patch">;
export type CredentialKind = Credential["kind"];
export type ApiToken = ResponseOf<"/api/v1/tokens", "get">[number];
/** The answer that shows a new API token, once. */
export type ApiTokenCreated = ResponseOf<"/api/v1/tokens", "post">;
export type ApiTokenCreate = BodyOf<"/api/v1/tokens", "post">;
export type VersionList = ResponseOf<"/api/v1/workflows/{workflow_id}/versions", "get">;
/** One saved version as the history lists it (without its graph). */
export type WorkflowVersion = VersionList["items"][number];
export type VersionDetail = ResponseOf<"/api/v1/workflows/{workflow_id}/versions/{number}", "get">;
export type VersionDiff = ResponseOf<"/api/v1/workflows/{workflow_id}/versions/{a}/diff/{b}", "get">;

/** A React Flow node as relayflow stores it. */
export interface GraphNode {
  id: string;
  type: string;
  position: { x: number; y: number };
  data: Record<string, unknown>;
  [key: string]: unknown;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  sourceHandle?: string | null;
  targetHandle?: string | null;
  [key: string]: unknown;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export type ExecutionStatus = components["schemas"]["ExecutionStatus"];

export const EXECUTION_STATUSES: ExecutionStatus[] = [
  "pending",
  "processing",
  "waiting",
  "completed",
  "failed",
  "cancelled",
];

export function isFinalStatus(status: string | null | undefined): boolean {
  return status === "completed" || status === "failed" || status === "cancelled";
}

/** One attempt of one node, as the execution detail lists it. */
export type NodeRun = Execution["node_runs"][number];
/** An execution as lists show it (without its graph and node runs). */
export type ExecutionSummary = ExecutionPage["items"][number];
