// Turns an execution's node runs and its event stream into one status per node.
import type { StreamEvent } from "../api/sse";
import type { NodeRun } from "../api/types";
import type { LiveStatus } from "../editor/canvasOverlay";

const FROM_RUN: Record<string, LiveStatus> = {
  running: "running",
  completed: "finished",
  failed: "failed",
  skipped: "skipped",
  waiting: "waiting",
  cancelled: "cancelled",
};

const FROM_EVENT: Record<string, LiveStatus> = {
  "node.started": "running",
  "node.finished": "finished",
  "node.completed": "finished",
  "node.failed": "failed",
  "node.skipped": "skipped",
  "node.waiting": "waiting",
  "node.retrying": "retrying",
  "node.cancelled": "cancelled",
};

export function nodeRunsOf(execution: { node_runs?: NodeRun[] } | null): NodeRun[] {
  return execution?.node_runs ?? [];
}

/** The latest attempt of each node (highest iteration, then attempt). */
export function latestRuns(runs: NodeRun[]): Map<string, NodeRun> {
  const latest = new Map<string, NodeRun>();
  for (const run of runs) {
    const seen = latest.get(run.node_id);
    if (
      !seen ||
      run.iteration > seen.iteration ||
      (run.iteration === seen.iteration && run.attempt >= seen.attempt)
    ) {
      latest.set(run.node_id, run);
    }
  }
  return latest;
}

export function statusesFromRuns(nodeIds: string[], runs: NodeRun[], executionStatus?: string): Map<string, LiveStatus> {
  const statuses = new Map<string, LiveStatus>();
  for (const id of nodeIds) statuses.set(id, "pending");
  for (const [id, run] of latestRuns(runs)) statuses.set(id, FROM_RUN[run.status] ?? "pending");
  // Once an execution is over, nodes that never started did not run.
  if (executionStatus === "completed" || executionStatus === "failed" || executionStatus === "cancelled") {
    for (const [id, status] of statuses) if (status === "pending") statuses.set(id, "skipped");
  }
  return statuses;
}

export function eventNodeId(event: StreamEvent): string | null {
  const id = event.payload.node_id ?? event.payload.node;
  return typeof id === "string" ? id : null;
}

/** Applies one stream event; returns the same map when nothing changed. */
export function applyEvent(statuses: Map<string, LiveStatus>, event: StreamEvent): Map<string, LiveStatus> {
  const status = FROM_EVENT[event.kind];
  const nodeId = eventNodeId(event);
  if (!status || !nodeId || statuses.get(nodeId) === status) return statuses;
  const next = new Map(statuses);
  next.set(nodeId, status);
  return next;
}
