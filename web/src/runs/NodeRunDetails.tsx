import { useState } from "react";
import { executions } from "../api/resources";
import type { NodeRun } from "../api/types";
import { ErrorBanner } from "../components/ErrorBanner";
import { JsonView } from "../components/JsonView";
import { StatusBadge } from "../components/StatusBadge";
import { durationBetween, formatCost, formatDuration, formatTime } from "../components/format";
import type { LiveStatus } from "../editor/canvasOverlay";
import { ToolCalls } from "./ToolCalls";

interface Props {
  executionId: string;
  nodeId: string;
  status: LiveStatus | undefined;
  runs: NodeRun[];
  delta?: string;
  onDecided: () => void;
}

/** What one node did in one execution: every attempt, its input, output, error and cost. */
export function NodeRunDetails({ executionId, nodeId, status, runs, delta, onDecided }: Props) {
  const attempts = runs
    .filter((r) => r.node_id === nodeId)
    .sort((a, b) => a.iteration - b.iteration || a.attempt - b.attempt);
  const latest = attempts[attempts.length - 1];
  const tokensIn = attempts.reduce((sum, r) => sum + (r.input_tokens ?? 0), 0);
  const tokensOut = attempts.reduce((sum, r) => sum + (r.output_tokens ?? 0), 0);
  const cost = attempts.reduce((sum, r) => sum + (r.cost_usd ?? 0), 0);
  return (
    <section className="stack" aria-label={`Run of ${nodeId}`}>
      <div className="row">
        <h3 style={{ margin: 0 }}>This run</h3>
        {status ? <StatusBadge status={status} /> : null}
      </div>
      {status === "waiting" ? <ApprovalBox executionId={executionId} nodeId={nodeId} onDecided={onDecided} /> : null}
      {!latest ? (
        <p className="muted small">{status === "skipped" ? "This node was skipped." : "Not started yet."}</p>
      ) : (
        <>
          <dl className="stat-grid">
            <dt>Attempts</dt>
            <dd>{attempts.length}</dd>
            <dt>Started</dt>
            <dd>{formatTime(latest.started_at)}</dd>
            <dt>Duration</dt>
            <dd>{formatDuration(latest.duration_ms ?? durationBetween(latest.started_at, latest.finished_at))}</dd>
            <dt>Tokens</dt>
            <dd>
              {tokensIn} in · {tokensOut} out
            </dd>
            <dt>Cost</dt>
            <dd>{formatCost(cost)}</dd>
          </dl>
          {latest.error ? (
            <div className="banner error" role="alert">
              <strong>Error: </strong>
              {latest.error}
            </div>
          ) : null}
          <h3>Output</h3>
          <JsonView value={latest.output ?? null} label={`Output of ${nodeId}`} />
          <h3>Input</h3>
          <JsonView value={latest.input ?? null} label={`Input of ${nodeId}`} />
          <ToolCalls calls={latest.tool_calls ?? []} nodeId={nodeId} />
          {attempts.length > 1 ? (
            <>
              <h3>Attempts</h3>
              <table className="table small">
                <thead>
                  <tr>
                    <th>#</th>
                    <th>Status</th>
                    <th>Duration</th>
                    <th>Error</th>
                  </tr>
                </thead>
                <tbody>
                  {attempts.map((r) => (
                    <tr key={`${r.iteration}-${r.attempt}`}>
                      <td>
                        {r.iteration ? `${r.iteration}.` : ""}
                        {r.attempt}
                      </td>
                      <td>
                        <StatusBadge status={r.status} />
                      </td>
                      <td>{formatDuration(r.duration_ms ?? durationBetween(r.started_at, r.finished_at))}</td>
                      <td className="small">{r.error ?? ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          ) : null}
        </>
      )}
      {delta && (status === "running" || status === "retrying") ? (
        <>
          <h3>Streaming</h3>
          <div className="delta" aria-live="polite">
            {delta}
          </div>
        </>
      ) : null}
    </section>
  );
}

function ApprovalBox({ executionId, nodeId, onDecided }: { executionId: string; nodeId: string; onDecided: () => void }) {
  const [comment, setComment] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const decide = async (approved: boolean) => {
    setBusy(true);
    setError(null);
    try {
      await executions.decide(executionId, nodeId, approved, comment);
      onDecided();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="card stack" style={{ background: "var(--warn-soft)" }}>
      <strong>Waiting for your decision</strong>
      <ErrorBanner error={error} />
      <label className="field">
        Comment <span className="hint">optional</span>
        <input value={comment} onChange={(e) => setComment(e.target.value)} />
      </label>
      <div className="row">
        <button className="primary" disabled={busy} onClick={() => decide(true)}>
          Approve
        </button>
        <button className="danger" disabled={busy} onClick={() => decide(false)}>
          Reject
        </button>
      </div>
    </div>
  );
}
