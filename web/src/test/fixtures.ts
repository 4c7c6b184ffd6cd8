// API answers for component tests, typed by the generated schema so they cannot drift from
// what the server sends.
import type { Execution, Graph, NodeRun, Workflow } from "../api/types";

export function workflowAnswer(id: string, graph: Graph, changes: Partial<Workflow> = {}): Workflow {
  return {
    id,
    name: "Research brief",
    description: null,
    nodes: graph.nodes,
    edges: graph.edges,
    metadata: {},
    is_public: false,
    chat_model: false,
    mcp_tool: false,
    owned: true,
    user_id: "u-1",
    created_at: "2025-01-01T00:00:00Z",
    updated_at: "2025-01-01T00:00:00Z",
    draft_version: 1,
    published_version: 1,
    ...changes,
  };
}

export function nodeRunAnswer(nodeId: string, status: string, changes: Partial<NodeRun> = {}): NodeRun {
  return {
    id: `run-${nodeId}`,
    node_id: nodeId,
    status,
    attempt: 1,
    iteration: 0,
    input: null,
    output: null,
    error: null,
    started_at: "2025-01-01T00:00:01Z",
    finished_at: status === "running" ? null : "2025-01-01T00:00:02Z",
    duration_ms: status === "running" ? null : 1000,
    input_tokens: 0,
    output_tokens: 0,
    cost_usd: 0,
    active_handles: null,
    reused_from: null,
    tool_calls: [],
    ...changes,
  };
}

export function executionAnswer(id: string, workflowId: string, changes: Partial<Execution> = {}): Execution {
  return {
    id,
    workflow_id: workflowId,
    status: "processing",
    input: { topic: "durable workflows" },
    output: null,
    error: null,
    graph: null,
    node_runs: [],
    node_runs_next_cursor: null,
    trigger: { type: "manual" },
    decisions: {},
    waiting_on: [],
    cancel_requested: false,
    rerun_of: null,
    rerun_from_node: null,
    workflow_version: 1,
    user_id: "u-1",
    started_at: "2025-01-01T00:00:00Z",
    completed_at: null,
    updated_at: null,
    duration_ms: null,
    input_tokens: 0,
    output_tokens: 0,
    cost_usd: 0,
    totals: { attempts: 0, cost_usd: 0, input_tokens: 0, output_tokens: 0, nodes_by_status: {} },
    ...changes,
  };
}
