import { Background, Controls, ReactFlow, ReactFlowProvider, useNodesState, type Node } from "@xyflow/react";
import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { graphOf } from "../api/graph";
import { executions } from "../api/resources";
import { isFinalStatus } from "../api/types";
import { Dialog } from "../components/Dialog";
import { ErrorBanner } from "../components/ErrorBanner";
import { JsonView } from "../components/JsonView";
import { StatusBadge } from "../components/StatusBadge";
import { durationBetween, formatCost, formatDuration, formatTime } from "../components/format";
import { CanvasOverlayContext } from "../editor/canvasOverlay";
import { nodeTypes } from "../editor/nodeTypes";
import { triggerLabel, VersionLink } from "./ExecutionsPage";
import { NodeRunDetails } from "./NodeRunDetails";
import { useExecutionLive } from "./useExecutionLive";

/** One execution drawn on the graph it ran (its pinned snapshot), live while it runs. */
export function ExecutionPage() {
  const { executionId = "" } = useParams();
  return (
    <ReactFlowProvider>
      <ExecutionView key={executionId} executionId={executionId} />
    </ReactFlowProvider>
  );
}

function ExecutionView({ executionId }: { executionId: string }) {
  const navigate = useNavigate();
  const [graphNodeIds, setGraphNodeIds] = useState<string[]>([]);
  const live = useExecutionLive(executionId, graphNodeIds);
  const execution = live.execution;
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [rerunFrom, setRerunFrom] = useState<string | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);

  const graph = useMemo(() => graphOf(execution?.graph), [execution?.graph]);
  const nodes = useMemo(
    () =>
      graph.nodes.map((n) => ({
        ...n,
        selected: n.id === selectedId,
        draggable: false,
        connectable: false,
      })),
    [graph, selectedId],
  );
  // React Flow measures nodes and reports it through onNodesChange; a node handed over
  // again without its measurements is hidden until measured anew, which may never
  // happen (the graph is handed over again on every refresh). Keep them.
  const [shownNodes, setShownNodes, onNodesChange] = useNodesState<Node>([]);
  useEffect(() => {
    setShownNodes((shown) => {
      const measured = new Map(shown.map((n) => [n.id, n.measured]));
      return nodes.map((n) => ({ ...n, measured: measured.get(n.id) }));
    });
  }, [nodes, setShownNodes]);
  const edges = graph.edges;
  const ids = nodes.map((n) => n.id).join(",");
  const { refresh } = live;
  useEffect(() => {
    // The graph arrives with the execution; statuses are then recomputed over its nodes.
    if (ids && ids !== graphNodeIds.join(",")) {
      setGraphNodeIds(ids.split(","));
      void refresh();
    }
  }, [ids, graphNodeIds, refresh]);

  const overlay = useMemo(() => ({ problems: new Map<string, string[]>(), statuses: live.statuses }), [live.statuses]);

  const rerun = async (fromNode: string | null) => {
    const started = await executions.rerun(executionId, fromNode);
    setRerunFrom(undefined);
    navigate(`/executions/${started.id}`);
  };

  if (live.error && !execution) {
    return (
      <main className="page page-narrow">
        <ErrorBanner error={live.error} title="Cannot open this execution" />
        <Link to="/executions">Back to executions</Link>
      </main>
    );
  }
  if (!execution) return <p className="page muted">Loading execution…</p>;
  const running = !isFinalStatus(live.status);

  return (
    <main className="editor" style={{ gridTemplateColumns: "1fr 380px" }}>
      <div className="editor-toolbar">
        <Link className="small" to={execution.workflow_id ? `/workflows/${execution.workflow_id}/executions` : "/executions"}>
          ← History
        </Link>
        <h1 className="title">Execution</h1>
        <code className="muted small">{execution.id}</code>
        {live.status ? <StatusBadge status={live.status} /> : null}
        <span className="spacer" />
        {execution.workflow_id ? (
          <Link className="button small" to={`/workflows/${execution.workflow_id}`}>
            Open workflow
          </Link>
        ) : null}
        {running ? (
          <button className="small danger" onClick={() => executions.cancel(executionId).then(live.refresh, setError)}>
            Cancel
          </button>
        ) : null}
        <button className="small" onClick={() => setRerunFrom(null)} disabled={running}>
          Rerun
        </button>
        <button className="small" onClick={() => selectedId && setRerunFrom(selectedId)} disabled={running || !selectedId} title="Select a node first">
          Rerun from selected node
        </button>
      </div>
      <div className="canvas">
        <CanvasOverlayContext.Provider value={overlay}>
          <ReactFlow
            nodes={shownNodes}
            onNodesChange={onNodesChange}
            edges={edges}
            nodeTypes={nodeTypes}
            onNodeClick={(_, node) => setSelectedId(node.id)}
            onPaneClick={() => setSelectedId(null)}
            nodesDraggable={false}
            nodesConnectable={false}
            deleteKeyCode={null}
            fitView
            fitViewOptions={{ maxZoom: 1.1, padding: 0.2 }}
            proOptions={{ hideAttribution: true }}
          >
            <Background gap={18} />
            <Controls showInteractive={false} />
          </ReactFlow>
        </CanvasOverlayContext.Provider>
      </div>
      <aside className="side" aria-label="Execution details">
        <ErrorBanner error={error ?? live.error} />
        <dl className="stat-grid">
          <dt>Trigger</dt>
          <dd>{triggerLabel(execution.trigger)}</dd>
          <dt>Version</dt>
          <dd>
            <VersionLink workflowId={execution.workflow_id} version={execution.workflow_version} />
          </dd>
          <dt>Started</dt>
          <dd>{formatTime(execution.started_at)}</dd>
          <dt>Duration</dt>
          <dd>{formatDuration(execution.duration_ms ?? durationBetween(execution.started_at, execution.completed_at))}</dd>
          <dt>Tokens</dt>
          <dd>
            {execution.input_tokens ?? 0} in · {execution.output_tokens ?? 0} out
          </dd>
          <dt>Cost</dt>
          <dd>{formatCost(execution.cost_usd)}</dd>
        </dl>
        {execution.error ? (
          <div className="banner error" role="alert">
            {execution.error}
          </div>
        ) : null}
        {selectedId ? (
          <>
            <div className="row">
              <h2 style={{ margin: 0 }}>{selectedId}</h2>
              <span style={{ flex: 1 }} />
              <button className="small ghost" onClick={() => setSelectedId(null)}>
                Show execution
              </button>
            </div>
            <NodeRunDetails
              executionId={executionId}
              nodeId={selectedId}
              status={live.statuses.get(selectedId)}
              runs={live.runs}
              delta={live.deltas.get(selectedId)}
              onDecided={live.refresh}
            />
          </>
        ) : (
          <>
            <h2 className="subhead">Output</h2>
            <JsonView value={execution.output ?? null} label="Execution output" />
            <h2 className="subhead">Input</h2>
            <JsonView value={execution.input ?? null} label="Execution input" />
            <p className="muted small">Click a node to see its input, output, attempts and cost.</p>
          </>
        )}
      </aside>
      {rerunFrom !== undefined ? (
        <RerunDialog fromNode={rerunFrom} onClose={() => setRerunFrom(undefined)} onConfirm={() => rerun(rerunFrom)} />
      ) : null}
    </main>
  );
}

function RerunDialog({ fromNode, onClose, onConfirm }: { fromNode: string | null; onClose: () => void; onConfirm: () => Promise<void> }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog
      title={fromNode ? `Rerun from ${fromNode}` : "Rerun"}
      onClose={onClose}
      footer={
        <>
          <button onClick={onClose}>Cancel</button>
          <button
            className="primary"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                await onConfirm();
              } catch (err) {
                setError(err);
                setBusy(false);
              }
            }}
          >
            Start rerun
          </button>
        </>
      }
    >
      <ErrorBanner error={error} />
      <p style={{ margin: 0 }}>
        {fromNode
          ? `A new execution reuses the finished results upstream of ${fromNode} and runs ${fromNode} and everything after it again.`
          : "A new execution runs the same graph with the same input."}
      </p>
    </Dialog>
  );
}
