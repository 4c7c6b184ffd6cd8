import type { NodeRun } from "../api/types";
import { JsonView } from "../components/JsonView";
import { StatusBadge } from "../components/StatusBadge";
import { formatDuration } from "../components/format";

export type ToolCall = NonNullable<NodeRun["tool_calls"]>[number];

const KIND_LABEL: Record<string, string> = {
  http: "HTTP tool",
  delegate: "asked a colleague",
  subworkflow: "sub-workflow",
  mcp: "MCP tool",
};

/** An agent's tool calls and delegations in one attempt, in call order. */
export function ToolCalls({ calls, nodeId }: { calls: ToolCall[]; nodeId: string }) {
  if (calls.length === 0) return null;
  return (
    <>
      <h3>Tool calls</h3>
      <ol className="stack tool-calls" aria-label={`Tool calls of ${nodeId}`}>
        {calls.map((call, i) => (
          <li key={i} className="card stack">
            <div className="row">
              <strong>{call.tool}</strong>
              <span className="muted small">
                {KIND_LABEL[call.kind] ?? call.kind}
                {call.server ? ` on ${call.server}` : ""}
                {call.agent ? ` · by ${call.agent}` : ""}
                {call.duration_ms != null ? ` · ${formatDuration(call.duration_ms)}` : ""}
              </span>
              {call.status ? <StatusBadge status={call.status} /> : null}
            </div>
            <JsonView value={call.args ?? {}} label={`Arguments of ${call.tool}`} />
            {call.error ? (
              <div className="banner error" role="alert">
                {call.error}
              </div>
            ) : (
              <JsonView value={call.result ?? null} label={`Result of ${call.tool}`} />
            )}
          </li>
        ))}
      </ol>
    </>
  );
}
