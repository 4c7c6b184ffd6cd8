// The API's error body is always {"error": {"code", "message", "details"}}; this turns it
// (or a network failure) into one error type the screens can show.

export interface ProblemDetail {
  field?: string | null;
  message: string;
  node_id?: string | null;
  edge_id?: string | null;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details: unknown = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  static fromBody(status: number, body: unknown): ApiError {
    if (isRecord(body) && isRecord(body.error)) {
      const err = body.error;
      const message = typeof err.message === "string" ? err.message : `Request failed (${status})`;
      const code = typeof err.code === "string" ? err.code : "error";
      return new ApiError(status, code, message, err.details ?? null);
    }
    if (isRecord(body) && typeof body.detail === "string") {
      return new ApiError(status, "error", body.detail);
    }
    return new ApiError(status, "error", defaultMessage(status));
  }

  static network(cause: unknown): ApiError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new ApiError(0, "network", `Cannot reach the relayflow server (${reason}).`);
  }

  /** The per-field or per-node problems the server listed, in a uniform shape. */
  get problems(): ProblemDetail[] {
    return problemList(this.details);
  }
}

export function problemList(details: unknown): ProblemDetail[] {
  const raw = Array.isArray(details)
    ? details
    : isRecord(details) && Array.isArray(details.problems)
      ? details.problems
      : [];
  const out: ProblemDetail[] = [];
  for (const item of raw) {
    if (typeof item === "string") out.push({ message: item });
    else if (isRecord(item) && typeof item.message === "string") {
      out.push({
        message: item.message,
        field: typeof item.field === "string" ? item.field : null,
        node_id: typeof item.node_id === "string" ? item.node_id : null,
        edge_id: typeof item.edge_id === "string" ? item.edge_id : null,
      });
    }
  }
  return out;
}

const NODE_INDEX = /^nodes\[(\d+)\](?:\.(.+))?$/;
const EDGE_INDEX = /^edges\[(\d+)\](?:\.(.+))?$/;

export interface GraphProblems {
  byNode: Map<string, string[]>;
  byEdge: Map<string, string[]>;
  general: string[];
}

/**
 * Sorts an error's problems onto the nodes and edges they name, either by id
 * (`node_id`) or by position (`field: "nodes[2].data.prompt"`).
 */
export function graphProblems(
  error: unknown,
  nodeIds: readonly string[],
  edgeIds: readonly string[] = [],
): GraphProblems {
  const result: GraphProblems = { byNode: new Map(), byEdge: new Map(), general: [] };
  const details = error instanceof ApiError ? error.problems : problemList(error);
  const push = (map: Map<string, string[]>, key: string, text: string) => {
    map.set(key, [...(map.get(key) ?? []), text]);
  };
  for (const problem of details) {
    const field = problem.field ?? "";
    const nodeMatch = NODE_INDEX.exec(field);
    const edgeMatch = EDGE_INDEX.exec(field);
    const label = (sub: string | undefined) => (sub ? `${sub}: ${problem.message}` : problem.message);
    if (problem.node_id && nodeIds.includes(problem.node_id)) {
      push(result.byNode, problem.node_id, label(problem.field ?? undefined));
    } else if (problem.edge_id && edgeIds.includes(problem.edge_id)) {
      push(result.byEdge, problem.edge_id, problem.message);
    } else if (nodeMatch && nodeIds[Number(nodeMatch[1])] !== undefined) {
      push(result.byNode, nodeIds[Number(nodeMatch[1])], label(nodeMatch[2]));
    } else if (edgeMatch && edgeIds[Number(edgeMatch[1])] !== undefined) {
      push(result.byEdge, edgeIds[Number(edgeMatch[1])], label(edgeMatch[2]));
    } else {
      result.general.push(field ? `${field}: ${problem.message}` : problem.message);
    }
  }
  return result;
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

function defaultMessage(status: number): string {
  if (status === 401) return "Please sign in again.";
  if (status === 403) return "You are not allowed to do this.";
  if (status === 404) return "Not found.";
  if (status >= 500) return `The server failed (${status}). Try again in a moment.`;
  return `Request failed (${status}).`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
