import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Connection,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useReducer, useRef, useState, type DragEvent } from "react";
import { Link, useBlocker, useParams, useSearchParams } from "react-router";
import { ApiError, graphProblems, type GraphProblems } from "../api/errors";
import { executions, templates as templatesApi, workflows } from "../api/resources";
import { isFinalStatus, type AgentTemplate, type GraphEdge, type GraphNode, type Workflow } from "../api/types";
import { Dialog } from "../components/Dialog";
import { ErrorBanner } from "../components/ErrorBanner";
import { StatusBadge } from "../components/StatusBadge";
import { NodeRunDetails } from "../runs/NodeRunDetails";
import { RunDialog } from "../runs/RunDialog";
import { useExecutionLive } from "../runs/useExecutionLive";
import { downloadJson, fileSafeName, toWorkflowFile } from "../workflows/workflowFile";
import { CanvasOverlayContext, type CanvasOverlay } from "./canvasOverlay";
import { connectionProblem, editorReducer, emptyEditor, isDirty, toGraph } from "./editorState";
import { NodeForm } from "./forms/NodeForm";
import { kindInfo } from "./nodeKinds";
import { nodeTypes } from "./nodeTypes";
import { DRAG_TYPE, Palette } from "./Palette";

export function EditorPage() {
  const { workflowId = "" } = useParams();
  const [workflow, setWorkflow] = useState<Workflow | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setWorkflow(null);
    workflows.get(workflowId).then(setWorkflow, setError);
  }, [workflowId]);
  if (error) {
    return (
      <main className="page page-narrow">
        <ErrorBanner error={error} title="Cannot open this workflow" />
        <Link to="/workflows">Back to workflows</Link>
      </main>
    );
  }
  if (!workflow) return <p className="page muted">Loading workflow…</p>;
  return (
    <ReactFlowProvider>
      <Editor workflow={workflow} onSaved={setWorkflow} />
    </ReactFlowProvider>
  );
}

const EMPTY_PROBLEMS: GraphProblems = { byNode: new Map(), byEdge: new Map(), general: [] };

/** When the problems are drawn on the nodes, the banner only counts them. */
function summarizeGraphError(err: unknown, found: GraphProblems): unknown {
  const onGraph = [...found.byNode.values(), ...found.byEdge.values()].reduce((n, list) => n + list.length, 0);
  if (!onGraph || !(err instanceof ApiError)) return err;
  const what = onGraph === 1 ? "1 problem, marked on its node" : `${onGraph} problems, marked on the nodes`;
  return new ApiError(err.status, err.code, `The workflow is not valid: ${what}.`, found.general);
}

/** Below the wanted point, the first place no other node occupies. */
function freeSpot(nodes: { position: { x: number; y: number } }[], wanted: { x: number; y: number }) {
  const spot = { ...wanted };
  const taken = () => nodes.some((n) => Math.abs(n.position.x - spot.x) < 180 && Math.abs(n.position.y - spot.y) < 80);
  for (let tries = 0; tries < 20 && taken(); tries++) spot.y += 90;
  return spot;
}

function Editor({ workflow, onSaved }: { workflow: Workflow; onSaved: (w: Workflow) => void }) {
  const flow = useReactFlow();
  const canvasRef = useRef<HTMLDivElement>(null);
  const readOnly = !workflow.owned;
  const [state, dispatch] = useReducer(editorReducer, undefined, emptyEditor);
  const [problems, setProblems] = useState<GraphProblems>(EMPTY_PROBLEMS);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [runDialog, setRunDialog] = useState(false);
  const [panelTab, setPanelTab] = useState<"settings" | "run">("settings");
  const [templateList, setTemplateList] = useState<AgentTemplate[]>([]);
  const [workflowList, setWorkflowList] = useState<{ id: string; name: string }[]>([]);
  const [searchParams, setSearchParams] = useSearchParams();
  const runId = searchParams.get("run");

  useEffect(() => {
    dispatch({ type: "load", graph: { nodes: workflow.nodes as GraphNode[], edges: workflow.edges as GraphEdge[] } });
    // Loaded once per workflow id; saving only marks the state clean.
  }, [workflow.id]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    templatesApi.list().then(setTemplateList, () => setTemplateList([]));
    workflows.list("mine").then(
      (page) => setWorkflowList(page.items.filter((w) => w.id !== workflow.id).map((w) => ({ id: w.id, name: w.name }))),
      () => setWorkflowList([]),
    );
  }, [workflow.id]);

  const dirty = isDirty(state);
  const nodeIds = useMemo(() => state.nodes.map((n) => n.id), [state.nodes]);
  const live = useExecutionLive(runId, nodeIds);
  const selected = state.nodes.filter((n) => n.selected);
  const selectedNode = selected.length === 1 ? selected[0] : null;

  // ------------------------------------------------------------ unsaved changes
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) => dirty && currentLocation.pathname !== nextLocation.pathname,
  );
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  // ------------------------------------------------------------ saving
  const showProblems = useCallback(
    (err: unknown) => {
      const found = graphProblems(err, state.nodes.map((n) => n.id), state.edges.map((e) => e.id));
      setProblems(found);
      return found;
    },
    [state.nodes, state.edges],
  );

  const save = useCallback(async (): Promise<boolean> => {
    if (readOnly) return false;
    setSaving(true);
    setError(null);
    setNotice(null);
    try {
      const saved = await workflows.update(workflow.id, toGraph(state.nodes, state.edges));
      dispatch({ type: "markSaved" });
      setProblems(EMPTY_PROBLEMS);
      onSaved(saved);
      setNotice("Saved");
      return true;
    } catch (err) {
      setError(summarizeGraphError(err, showProblems(err)));
      return false;
    } finally {
      setSaving(false);
    }
  }, [readOnly, workflow.id, state.nodes, state.edges, onSaved, showProblems]);

  const check = async () => {
    setError(null);
    setNotice(null);
    try {
      const answer = (await workflows.validate(toGraph(state.nodes, state.edges))) as { problems?: unknown[] };
      const found = showProblems(answer?.problems ?? []);
      if (!found.byNode.size && !found.general.length) setNotice("No problems found");
    } catch (err) {
      setError(summarizeGraphError(err, showProblems(err)));
    }
  };

  // ------------------------------------------------------------ editing
  const addAt = useCallback(
    (kind: string, position: { x: number; y: number }) => {
      if (readOnly) return;
      dispatch({ type: "addNode", kind, position });
      setPanelTab("settings");
    },
    [readOnly],
  );

  const addInView = (kind: string) => {
    const rect = canvasRef.current?.getBoundingClientRect();
    const center = rect
      ? flow.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 })
      : { x: 0, y: 0 };
    addAt(kind, freeSpot(state.nodes, { x: center.x - 85, y: center.y - 30 }));
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const kind = e.dataTransfer.getData(DRAG_TYPE);
    if (!kind) return;
    addAt(kind, flow.screenToFlowPosition({ x: e.clientX - 85, y: e.clientY - 25 }));
  };

  const onConnect = (connection: Connection) => {
    const problem = connectionProblem(connection, state.nodes, state.edges);
    if (problem) setNotice(problem);
    else dispatch({ type: "connect", connection });
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (!mod) return;
      const key = e.key.toLowerCase();
      if (key === "s") {
        e.preventDefault();
        void save();
        return;
      }
      const target = e.target as HTMLElement | null;
      if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return; // the field's own undo
      if (key === "z" && !e.shiftKey) {
        e.preventDefault();
        dispatch({ type: "undo" });
      } else if ((key === "z" && e.shiftKey) || key === "y") {
        e.preventDefault();
        dispatch({ type: "redo" });
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [save]);

  // ------------------------------------------------------------ running
  const startRun = async (input: unknown) => {
    const started = await executions.start(workflow.id, input);
    setRunDialog(false);
    setSearchParams({ run: started.id });
    setPanelTab("run");
  };

  const onRunClicked = async () => {
    if (dirty && !(await save())) return;
    setRunDialog(true);
  };

  const inputSchema = state.nodes.find((n) => n.type === "input")?.data?.schema;

  const overlay: CanvasOverlay = useMemo(
    () => ({ problems: problems.byNode, statuses: runId ? live.statuses : new Map() }),
    [problems.byNode, runId, live.statuses],
  );

  const edges = useMemo(
    () =>
      state.edges.map((e) => {
        const bad = problems.byEdge.has(e.id);
        const running = runId && live.statuses.get(e.source) === "finished" && live.statuses.get(e.target) === "running";
        return bad || running
          ? { ...e, animated: Boolean(running), style: bad ? { stroke: "var(--danger)", strokeWidth: 2 } : undefined }
          : e;
      }),
    [state.edges, problems.byEdge, runId, live.statuses],
  );

  return (
    <div className="editor">
      <div className="editor-toolbar" role="toolbar" aria-label="Workflow">
        <Link to="/workflows" className="small">
          ← Workflows
        </Link>
        <span className="title">{workflow.name}</span>
        {readOnly ? <span className="badge plain">read-only</span> : null}
        {dirty ? (
          <span className="unsaved" role="status">
            ● Unsaved changes
          </span>
        ) : notice ? (
          <span className="saved-note" role="status">
            {notice}
          </span>
        ) : null}
        <span className="spacer" />
        {!readOnly ? (
          <>
            <button className="small" onClick={() => dispatch({ type: "undo" })} disabled={!state.past.length} title="Undo (Ctrl+Z)">
              Undo
            </button>
            <button className="small" onClick={() => dispatch({ type: "redo" })} disabled={!state.future.length} title="Redo (Ctrl+Shift+Z)">
              Redo
            </button>
            <button className="small" onClick={check}>
              Check
            </button>
            <button className="small" onClick={() => void save()} disabled={saving || !dirty} title="Save (Ctrl+S)">
              {saving ? "Saving…" : "Save"}
            </button>
          </>
        ) : null}
        <button
          className="small"
          onClick={() => downloadJson(`${fileSafeName(workflow.name)}.relayflow.json`, toWorkflowFile({ ...workflow, ...toGraph(state.nodes, state.edges) }))}
        >
          Export
        </button>
        <Link className="button small" to={`/workflows/${workflow.id}/executions`}>
          History
        </Link>
        {!readOnly ? (
          <Link className="button small" to={`/workflows/${workflow.id}/triggers`}>
            Webhooks &amp; schedules
          </Link>
        ) : null}
        {runId && live.status && !isFinalStatus(live.status) ? (
          <button className="small danger" onClick={() => executions.cancel(runId).then(live.refresh, setError)}>
            Cancel run
          </button>
        ) : null}
        <button className="primary" onClick={onRunClicked} disabled={saving}>
          ▶ Run
        </button>
      </div>
      {readOnly ? <aside className="palette muted small">This workflow is shared with you read-only. Duplicate it to edit.</aside> : <Palette onAdd={addInView} />}
      <div className="canvas" ref={canvasRef} onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
        <CanvasOverlayContext.Provider value={overlay}>
          <ReactFlow
            nodes={state.nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            onNodesChange={(changes) => dispatch({ type: "nodeChanges", changes })}
            onEdgesChange={(changes) => dispatch({ type: "edgeChanges", changes })}
            onConnect={onConnect}
            onNodeDragStart={() => dispatch({ type: "checkpoint" })}
            onDelete={({ nodes, edges: removed }) =>
              dispatch({ type: "remove", nodeIds: nodes.map((n) => n.id), edgeIds: removed.map((e) => e.id) })
            }
            deleteKeyCode={readOnly ? null : ["Backspace", "Delete"]}
            nodesDraggable={!readOnly}
            nodesConnectable={!readOnly}
            fitView
            fitViewOptions={{ maxZoom: 1.1, padding: 0.2 }}
            proOptions={{ hideAttribution: true }}
          >
            <Background gap={18} />
            <Controls />
            <MiniMap pannable zoomable />
          </ReactFlow>
        </CanvasOverlayContext.Provider>
        {state.nodes.length === 0 ? <div className="flow-hint">Drag a node from the palette to start.</div> : null}
      </div>
      <aside className="side" aria-label="Details">
        <ErrorBanner error={error} />
        {problems.general.length && !error ? (
          <div className="banner error" role="alert">
            <ul>
              {problems.general.map((p, i) => (
                <li key={i}>{p}</li>
              ))}
            </ul>
          </div>
        ) : null}
        {runId ? (
          <div className="card stack" style={{ padding: 12 }}>
            <div className="row">
              <strong>Run</strong>
              {live.status ? <StatusBadge status={live.status} /> : null}
              <span className="spacer" style={{ flex: 1 }} />
              <Link className="small" to={`/executions/${runId}`}>
                Open
              </Link>
              <button className="small ghost" onClick={() => setSearchParams({})} aria-label="Close the run view">
                ✕
              </button>
            </div>
            {live.execution?.error ? <div className="banner error">{live.execution.error}</div> : null}
            {isFinalStatus(live.status) && live.execution?.output !== undefined ? (
              <details open={live.status === "completed"}>
                <summary className="small">Output</summary>
                <pre className="json" aria-label="Execution output">
                  {JSON.stringify(live.execution.output, null, 2)}
                </pre>
              </details>
            ) : null}
            {!selectedNode ? <p className="muted small" style={{ margin: 0 }}>Click a node to see what it did.</p> : null}
          </div>
        ) : null}
        {selectedNode ? (
          <>
            <div className="row">
              <h2>{kindInfo(selectedNode.type ?? "")?.label ?? selectedNode.type}</h2>
              <code className="muted">{selectedNode.id}</code>
              <span style={{ flex: 1 }} />
              {!readOnly ? (
                <button
                  className="small danger"
                  onClick={() => dispatch({ type: "remove", nodeIds: [selectedNode.id], edgeIds: [] })}
                >
                  Delete
                </button>
              ) : null}
            </div>
            {problems.byNode.get(selectedNode.id)?.length ? (
              <div className="banner error" role="alert">
                <ul style={{ margin: 0 }}>
                  {problems.byNode.get(selectedNode.id)!.map((p, i) => (
                    <li key={i}>{p}</li>
                  ))}
                </ul>
              </div>
            ) : null}
            {runId ? (
              <div className="tabs" role="tablist">
                <button role="tab" aria-selected={panelTab === "run"} onClick={() => setPanelTab("run")}>
                  Run
                </button>
                <button role="tab" aria-selected={panelTab === "settings"} onClick={() => setPanelTab("settings")}>
                  Settings
                </button>
              </div>
            ) : null}
            {runId && panelTab === "run" ? (
              <NodeRunDetails
                executionId={runId}
                nodeId={selectedNode.id}
                status={live.statuses.get(selectedNode.id)}
                runs={live.runs}
                delta={live.deltas.get(selectedNode.id)}
                onDecided={live.refresh}
              />
            ) : (
              <NodeForm
                key={selectedNode.id}
                kind={selectedNode.type ?? ""}
                data={selectedNode.data}
                readOnly={readOnly}
                templates={templateList}
                workflows={workflowList}
                onChange={(data, field) => dispatch({ type: "updateData", id: selectedNode.id, data, coalesceKey: field })}
              />
            )}
          </>
        ) : selected.length > 1 ? (
          <p className="muted">{selected.length} nodes selected. Press Delete to remove them.</p>
        ) : !runId ? (
          <div className="stack">
            <h2>{workflow.name}</h2>
            {workflow.description ? <p className="muted" style={{ margin: 0 }}>{workflow.description}</p> : null}
            <p className="muted small" style={{ margin: 0 }}>
              Select a node to edit it. Templates use Jinja: <code>{"{{ input.topic }}"}</code>, <code>{"{{ nodes.agent_1.output }}"}</code>.
            </p>
          </div>
        ) : null}
      </aside>
      {runDialog ? <RunDialog schema={inputSchema} onClose={() => setRunDialog(false)} onRun={startRun} /> : null}
      {blocker.state === "blocked" ? (
        <Dialog
          title="Unsaved changes"
          onClose={() => blocker.reset()}
          footer={
            <>
              <button onClick={() => blocker.reset()}>Stay</button>
              <button className="danger" onClick={() => blocker.proceed()}>
                Discard changes
              </button>
              <button
                className="primary"
                onClick={async () => {
                  if (await save()) blocker.proceed();
                  else blocker.reset();
                }}
              >
                Save and leave
              </button>
            </>
          }
        >
          <p>This workflow has changes that are not saved yet.</p>
        </Dialog>
      ) : null}
    </div>
  );
}
