import { useEffect } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { isRecord } from "../api/errors";
import { executions, workflows } from "../api/resources";
import { EXECUTION_STATUSES } from "../api/types";
import { useLoad } from "../api/useLoad";
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
  const status = EXECUTION_STATUSES.find((s) => s === params.get("status")) ?? null;
  const list = useLoad(() => executions.list({ workflowId, status }), [workflowId, status]);
  const items = list.data?.items;
  const workflow = useLoad(() => (workflowId ? workflows.get(workflowId) : Promise.resolve(null)), [workflowId]);
  // Across all workflows, rows name their workflow; a failure only costs the names.
  const names = useLoad(
    () =>
      workflowId
        ? Promise.resolve(new Map<string, string>())
        : workflows.list("mine").then((page) => new Map(page.items.map((w) => [w.id, w.name]))),
    [workflowId],
  );

  // Runs still going change status: refresh while any is.
  const anyRunning = Boolean(items?.some((e) => ["pending", "processing", "waiting"].includes(e.status)));
  const { reload } = list;
  useEffect(() => {
    if (!anyRunning) return;
    const timer = setInterval(() => void reload(), 3000);
    return () => clearInterval(timer);
  }, [anyRunning, reload]);

  const more = () =>
    list.extend(async (shown) => {
      const page = await executions.list({ workflowId, status, cursor: shown.next_cursor });
      return { items: [...shown.items, ...page.items], next_cursor: page.next_cursor };
    });

  return (
    <main className="page">
      <div className="page-narrow">
        <div className="page-header">
          <div>
            {workflowId ? (
              <Link to={`/workflows/${workflowId}`} className="small">
                ← {workflow.data?.name ?? "Workflow"}
              </Link>
            ) : null}
            <h1>{workflowId ? "Run history" : "Executions"}</h1>
          </div>
          <span className="spacer" />
          <label className="row small">
            Status
            <select
              value={status ?? ""}
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
          <button onClick={() => void reload()}>Refresh</button>
        </div>
        <ErrorBanner error={list.error ?? workflow.error} />
        {items === undefined ? (
          list.error ? null : <p className="muted">Loading…</p>
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
                <th>Version</th>
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
                  {!workflowId ? <td>{(e.workflow_id && names.data?.get(e.workflow_id)) || <span className="mono small">{e.workflow_id?.slice(0, 8)}</span>}</td> : null}
                  <td>{triggerLabel(e.trigger)}</td>
                  <td>
                    <VersionLink workflowId={e.workflow_id} version={e.workflow_version} />
                  </td>
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
        {list.data?.next_cursor ? (
          <div className="row" style={{ justifyContent: "center", marginTop: 12 }}>
            <button onClick={() => void more()}>Load more</button>
          </div>
        ) : null}
      </div>
    </main>
  );
}

/** The version a run ran, linking to the editor's History comparing it with the draft. */
export function VersionLink({ workflowId, version }: { workflowId: string | null; version: number | null }) {
  if (version == null) return <span className="muted">—</span>;
  if (!workflowId) return <span>v{version}</span>;
  return (
    <Link to={`/workflows/${workflowId}?history=${version}`} title="Open this version in the editor's History">
      v{version}
    </Link>
  );
}
