import { Link } from "react-router";
import { isFinalStatus } from "../api/types";
import { StatusBadge } from "../components/StatusBadge";
import type { LiveExecution } from "../runs/useExecutionLive";

interface Props {
  runId: string;
  live: LiveExecution;
  /** Whether a node is selected (its part of the run shows below). */
  nodeSelected: boolean;
  onClose: () => void;
}

/** The run shown on the canvas: its status, error and, once over, its output. */
export function RunSummary({ runId, live, nodeSelected, onClose }: Props) {
  return (
    <section className="card stack" style={{ padding: 12 }} aria-label="Run">
      <div className="row">
        <strong>Run</strong>
        {live.status ? <StatusBadge status={live.status} /> : null}
        <span className="spacer" style={{ flex: 1 }} />
        <Link className="small" to={`/executions/${runId}`}>
          Open
        </Link>
        <button className="small ghost" onClick={onClose} aria-label="Close the run view">
          ✕
        </button>
      </div>
      {live.execution?.error ? <div className="banner error">{live.execution.error}</div> : null}
      {isFinalStatus(live.status) && live.execution?.output !== undefined ? (
        <details open={live.status === "completed"}>
          <summary className="small">Output</summary>
          <pre className="json" tabIndex={0} role="region" aria-label="Execution output">
            {JSON.stringify(live.execution.output, null, 2)}
          </pre>
        </details>
      ) : null}
      {!nodeSelected ? (
        <p className="muted small" style={{ margin: 0 }}>
          Click a node to see what it did.
        </p>
      ) : null}
    </section>
  );
}
