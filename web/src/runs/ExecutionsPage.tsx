import { useCallback, useEffect, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { isRecord } from "../api/errors";
import { executions, workflows } from "../api/resources";
import { EXECUTION_STATUSES, type ExecutionSummary, type Workflow } from "../api/types";
import { EmptyState } from "../components/EmptyState";
import { ErrorBanner } from "../components/ErrorBanner";
import { StatusBadge } from "../components/StatusBadge";
import { durationBetween, formatCost, formatDuration, formatTime } from "../components/format";

export function triggerLabel(trigger: unknown): string {
  if (!isRecord(trigger) || typeof trigger.type !== "string") return "—";
  if (trigger.type === "rerun" && typeof trigger.from_node === "string") return `rerun from ${trigger.from_node}`;
  return trigger.type;
}

/** Execution history: every execution, or one workflow's, newest first. */
export function ExecutionsPage() {
  const { workflowId } = useParams();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const status = params.get("status") ?? "";
  const [items, setItems] = useState<ExecutionSummary[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [workflow, setWorkflow] = useState<Workflow | null>(null);
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      const page = await executions.list({ workflowId, status });
      setItems(page.items);
      setCursor(page.next_cursor ?? null);
    } catch (err) {
      setError(err);
      setItems([]);
    }
  }, [workflowId, status]);

  useEffect(() => {
    setItems(null);
    void load();
  }, [load]);

  // Runs still going change status: refresh while any is.
  useEffect(() => {
    if (!items?.some((e) => ["pending", "processing", "waiting"].includes(e.status))) return;
    const timer = setInterval(() => void load(), 3000);
    return () => clearInterval(timer);
  }, [items, load]);

  useEffect(() => {
    if (workflowId) {
      workflows.get(workflowId).then(setWorkflow, setError);
    } else {
      workflows.list("mine").then(
        (page) => setNames(new Map(page.items.map((w) => [w.id, w.name]))),
        () => undefined,
      );
    }
  }, [workflowId]);

  const more = async () => {
    try {
      const page = await executions.list({ workflowId, status, cursor });
      setItems((prev) => [...(prev ?? []), ...page.items]);
      setCursor(page.next_cursor ?? null);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <main className="page">
      <div className="page-narrow">
        <div className="page-header">
          <div>
            {workflowId ? (
              <Link to={`/workflows/${workflowId}`} className="small">
                ← {workflow?.name ?? "Workflow"}
              </Link>
            ) : null}
            <h1>{workflowId ? "Run history" : "Executions"}</h1>
          </div>
          <span className="spacer" />
          <label className="row small">
            Status
            <select
              value={status}
              style={{ width: "auto" }}
              onChange={(e) => setParams(e.target.value ? { status: e.target.value } : {})}
            >
              <option value="">all</option>
              {EXECUTION_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <button onClick={() => void load()}>Refresh</button>
        </div>
        <ErrorBanner error={error} />
        {items === null ? (
          <p className="muted">Loading…</p>
        ) : items.length === 0 ? (
          <EmptyState title={status ? `No ${status} executions` : "No executions yet"}>
            {workflowId ? "Run this workflow from the editor, a webhook or a schedule." : "Runs of your workflows show up here."}
          </EmptyState>
        ) : (
          <table className="table" aria-label="Executions">
            <thead>
              <tr>
                <th>Status</th>
                {!workflowId ? <th>Workflow</th> : null}
                <th>Trigger</th>
                <th>Started</th>
                <th>Duration</th>
                <th>Cost</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr
                  key={e.id}
                  className="clickable"
                  tabIndex={0}
                  onClick={() => navigate(`/executions/${e.id}`)}
                  onKeyDown={(ev) => {
                    if (ev.key === "Enter") navigate(`/executions/${e.id}`);
                  }}
                >
                  <td>
                    <StatusBadge status={e.status} />
                  </td>
                  {!workflowId ? <td>{(e.workflow_id && names.get(e.workflow_id)) || <span className="mono small">{e.workflow_id?.slice(0, 8)}</span>}</td> : null}
                  <td>{triggerLabel(e.trigger)}</td>
                  <td>
                    <Link to={`/executions/${e.id}`} onClick={(ev) => ev.stopPropagation()}>
                      {formatTime(e.started_at)}
                    </Link>
                  </td>
                  <td>{formatDuration(e.duration_ms ?? durationBetween(e.started_at, e.completed_at))}</td>
                  <td>{formatCost(e.cost_usd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {cursor ? (
          <div className="row" style={{ justifyContent: "center", marginTop: 12 }}>
            <button onClick={more}>Load more</button>
          </div>
        ) : null}
      </div>
    </main>
  );
}
