import { applyNodeChanges, useReactFlow, type Connection } from "@xyflow/react";
import { useEffect, useMemo, useReducer, useRef, useState, type Dispatch } from "react";
import { useSearchParams } from "react-router";
import { graphOf } from "../api/graph";
import { executions, versions as versionsApi, workflows as workflowsApi } from "../api/resources";
import { isFinalStatus, type VersionDiff, type Workflow } from "../api/types";
import { RunDialog } from "../runs/RunDialog";
import { useExecutionLive } from "../runs/useExecutionLive";
import { downloadJson, fileSafeName, toWorkflowFile } from "../workflows/workflowFile";
import type { LiveStatus } from "./canvasOverlay";
import { DetailsPanel } from "./DetailsPanel";
import { EditorToolbar } from "./EditorToolbar";
import {
  connectionProblem,
  editorReducer,
  freeSpot,
  fromGraph,
  isDirty,
  toGraph,
  type EditorAction,
  type FlowNode,
} from "./editorState";
import "./editor.css";
import { HistoryPanel } from "./HistoryPanel";
import { placedGraph } from "./layout";
import { Palette } from "./Palette";
import type { NodeTab } from "./SelectedNodeDetails";
import { UnsavedChangesGuard } from "./UnsavedChangesGuard";
import { useEditorShortcuts } from "./useEditorShortcuts";
import { NO_PROBLEMS, useSaveAndCheck } from "./useSaveAndCheck";
import { diffCanvas, type DiffCanvas, type DiffMark } from "./versionDiff";
import { WorkflowCanvas } from "./WorkflowCanvas";

const NO_STATUSES = new Map<string, LiveStatus>();
const NO_DIFF = new Map<string, DiffMark>();

interface Comparison extends DiffCanvas {
  number: number;
  diff: VersionDiff;
}

/** The canvas of one workflow with its toolbar, palette and side panel; runs show live on it. */
export function WorkflowEditor({
  workflow,
  defaultModel,
  onSaved,
}: {
  workflow: Workflow;
  /** The model a new agent node starts with (the server's `RELAYFLOW_DEFAULT_MODEL`). */
  defaultModel: string | null;
  onSaved: (w: Workflow) => void;
}) {
  const flow = useReactFlow();
  const canvasRef = useRef<HTMLDivElement>(null);
  const readOnly = !workflow.owned;
  // Graphs stored without positions (imports, API calls) are laid out as they load.
  const [state, dispatch] = useReducer(editorReducer, workflow, (w) => fromGraph(placedGraph(w)));
  const { nodes, edges, saved } = state;
  // Serialising the whole graph is not free: only when the graph or the saved copy changes.
  const dirty = useMemo(() => isDirty({ nodes, edges, saved }), [nodes, edges, saved]);
  const selected = useMemo(() => nodes.filter((n) => n.selected), [nodes]);
  const [tab, setTab] = useState<NodeTab>("settings");
  const [runDialog, setRunDialog] = useState(false);
  const [searchParams, setSearchParams] = useSearchParams();
  const runId = searchParams.get("run");
  const nodeIds = useMemo(() => nodes.map((n) => n.id), [nodes]);
  const live = useExecutionLive(runId, nodeIds);
  // History: `?history=N` (a run's version link) opens it comparing version N with the draft.
  const historyParam = Number(searchParams.get("history"));
  const [historyOpen, setHistoryOpen] = useState(searchParams.has("history"));
  const [compared, setCompared] = useState<number | null>(historyParam > 0 ? historyParam : null);
  const [comparison, setComparison] = useState<Comparison | null>(null);
  const [versionBusy, setVersionBusy] = useState(false);
  const [versionError, setVersionError] = useState<unknown>(null);

  const saver = useSaveAndCheck({
    workflowId: workflow.id,
    readOnly,
    graph: () => toGraph(nodes, edges),
    onSaved: (stored, sent) => {
      dispatch({ type: "markSaved", graph: sent });
      onSaved(stored);
    },
  });
  useEditorShortcuts({
    save: () => void saver.save(),
    undo: () => dispatch({ type: "undo" }),
    redo: () => dispatch({ type: "redo" }),
  });

  // Loads the selected version and its diff to the draft, and draws them.
  const draft = workflow.draft_version;
  useEffect(() => {
    if (!historyOpen || compared === null || draft == null) {
      setComparison(null);
      return;
    }
    let current = true;
    setVersionError(null);
    Promise.all([versionsApi.get(workflow.id, compared), versionsApi.diff(workflow.id, compared, draft)]).then(
      ([older, diff]) => {
        if (!current) return;
        const canvas = diffCanvas(graphOf(older), graphOf(workflow), diff);
        setComparison({ ...canvas, number: compared, diff });
      },
      (err: unknown) => current && setVersionError(err),
    );
    return () => {
      current = false;
    };
    // The draft's graph changes only with its number.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [historyOpen, compared, draft, workflow.id]);
  // While comparing, the canvas is a picture: only React Flow's own measuring applies.
  const comparisonDispatch: Dispatch<EditorAction> = (action) => {
    if (action.type !== "nodeChanges") return;
    setComparison((c) => (c ? { ...c, nodes: applyNodeChanges(action.changes, c.nodes) as FlowNode[] } : c));
  };
  const refreshWorkflow = async (): Promise<Workflow> => {
    const fresh = await workflowsApi.get(workflow.id);
    onSaved(fresh);
    return fresh;
  };
  const versionAction = async (act: () => Promise<void>) => {
    setVersionBusy(true);
    setVersionError(null);
    try {
      await act();
    } catch (err) {
      setVersionError(err);
      saver.showError(err);
    } finally {
      setVersionBusy(false);
    }
  };
  const publish = (number?: number) =>
    versionAction(async () => {
      if (number === undefined && dirty && !(await saver.save())) return;
      const published = await versionsApi.publish(workflow.id, number === undefined ? {} : { version: number });
      await refreshWorkflow();
      saver.showNotice(`Published v${published.number}`);
    });
  const restore = (number: number) =>
    versionAction(async () => {
      if (dirty) throw new Error("Save or undo your changes before restoring a version.");
      const restored = await versionsApi.restore(workflow.id, number);
      const fresh = await refreshWorkflow();
      dispatch({ type: "load", graph: placedGraph(fresh) });
      setCompared(null);
      saver.showNotice(`Restored v${number} as v${restored.number}`);
    });
  const toggleHistory = () => {
    setHistoryOpen((open) => !open);
    setCompared(null);
  };
  const shown = historyOpen && comparison ? comparison : null;

  // A new agent starts with the server's default model, so it is valid as dropped.
  const addAt = (kind: string, position: { x: number; y: number }) => {
    if (readOnly) return;
    const data = kind === "agent" && defaultModel ? { model: defaultModel } : undefined;
    dispatch({ type: "addNode", kind, position, data });
    setTab("settings");
  };
  const addInView = (kind: string) => {
    const rect = canvasRef.current?.getBoundingClientRect();
    const center = rect
      ? flow.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 })
      : { x: 0, y: 0 };
    addAt(kind, freeSpot(nodes, { x: center.x - 85, y: center.y - 30 }));
  };
  const fitAll = () => requestAnimationFrame(() => void flow.fitView({ maxZoom: 1.1, padding: 0.2 }));
  const tidyUp = () => {
    dispatch({ type: "layout" });
    fitAll();
  };
  /** Selects a node and brings it to the middle of the canvas at the current zoom. */
  const focusNode = (id: string) => {
    dispatch({ type: "select", id });
    const node = flow.getNode(id);
    if (!node) return;
    const width = node.measured?.width ?? 0;
    const height = node.measured?.height ?? 0;
    void flow.setCenter(node.position.x + width / 2, node.position.y + height / 2, {
      zoom: Math.max(flow.getZoom(), 0.8),
      duration: 250,
    });
  };
  const connect = (connection: Connection) => {
    const problem = connectionProblem(connection, nodes, edges);
    if (problem) saver.showNotice(problem);
    else dispatch({ type: "connect", connection });
  };

  const startRun = async (input: unknown) => {
    const started = await executions.start(workflow.id, input, "editor");
    setRunDialog(false);
    setSearchParams({ run: started.id });
    setTab("run");
  };
  const run = async () => {
    if (dirty && !(await saver.save())) return;
    setRunDialog(true);
  };
  const cancelRun =
    runId && live.status && !isFinalStatus(live.status)
      ? () => void executions.cancel(runId).then(live.refresh, saver.showError)
      : null;

  return (
    <main className="editor">
      <EditorToolbar
        workflow={workflow}
        readOnly={readOnly}
        dirty={dirty}
        notice={saver.notice}
        saving={saver.saving}
        canUndo={state.past.length > 0}
        canRedo={state.future.length > 0}
        onUndo={() => dispatch({ type: "undo" })}
        onRedo={() => dispatch({ type: "redo" })}
        onCheck={() => void saver.check()}
        onTidyUp={tidyUp}
        onSave={() => void saver.save()}
        onExport={() =>
          downloadJson(
            `${fileSafeName(workflow.name)}.relayflow.json`,
            toWorkflowFile({ ...workflow, ...toGraph(nodes, edges) }),
          )
        }
        onPublish={() => void publish()}
        historyOpen={historyOpen}
        onHistory={toggleHistory}
        onCancelRun={cancelRun}
        onRun={() => void run()}
      />
      {readOnly ? (
        <aside className="palette muted small">This workflow is shared with you read-only. Duplicate it to edit.</aside>
      ) : (
        <Palette onAdd={addInView} />
      )}
      <WorkflowCanvas
        ref={canvasRef}
        nodes={shown ? shown.nodes : nodes}
        edges={shown ? shown.edges : edges}
        dispatch={shown ? comparisonDispatch : dispatch}
        readOnly={readOnly}
        problems={shown ? NO_PROBLEMS : saver.problems}
        statuses={runId && !shown ? live.statuses : NO_STATUSES}
        diff={shown ? shown.marks : NO_DIFF}
        onDropKind={addAt}
        onConnect={connect}
      />
      {historyOpen ? (
        <HistoryPanel
          workflow={workflow}
          readOnly={readOnly}
          selected={compared}
          diff={shown ? shown.diff : null}
          busy={versionBusy}
          error={versionError}
          onSelect={setCompared}
          onRestore={(n) => void restore(n)}
          onPublish={(n) => void publish(n)}
          onClose={toggleHistory}
        />
      ) : (
      <DetailsPanel
        workflow={workflow}
        readOnly={readOnly}
        error={saver.error}
        problems={saver.problems}
        selected={selected}
        nodes={nodes}
        edges={edges}
        onFocusNode={focusNode}
        run={runId ? { id: runId, live, onClose: () => setSearchParams({}) } : null}
        tab={tab}
        onTab={setTab}
        dispatch={dispatch}
      />
      )}
      {runDialog ? (
        <RunDialog
          schema={nodes.find((n) => n.type === "input")?.data?.schema}
          onClose={() => setRunDialog(false)}
          onRun={startRun}
        />
      ) : null}
      <UnsavedChangesGuard dirty={dirty} save={saver.save} />
    </main>
  );
}
