import { useReactFlow, type Connection } from "@xyflow/react";
import { useMemo, useReducer, useRef, useState } from "react";
import { useSearchParams } from "react-router";
import { graphOf } from "../api/graph";
import { executions } from "../api/resources";
import { isFinalStatus, type Workflow } from "../api/types";
import { RunDialog } from "../runs/RunDialog";
import { useExecutionLive } from "../runs/useExecutionLive";
import { downloadJson, fileSafeName, toWorkflowFile } from "../workflows/workflowFile";
import type { LiveStatus } from "./canvasOverlay";
import { DetailsPanel } from "./DetailsPanel";
import { EditorToolbar } from "./EditorToolbar";
import { connectionProblem, editorReducer, freeSpot, fromGraph, isDirty, toGraph } from "./editorState";
import { Palette } from "./Palette";
import type { NodeTab } from "./SelectedNodeDetails";
import { UnsavedChangesGuard } from "./UnsavedChangesGuard";
import { useEditorShortcuts } from "./useEditorShortcuts";
import { useSaveAndCheck } from "./useSaveAndCheck";
import { WorkflowCanvas } from "./WorkflowCanvas";

const NO_STATUSES = new Map<string, LiveStatus>();

/** The canvas of one workflow with its toolbar, palette and side panel; runs show live on it. */
export function WorkflowEditor({ workflow, onSaved }: { workflow: Workflow; onSaved: (w: Workflow) => void }) {
  const flow = useReactFlow();
  const canvasRef = useRef<HTMLDivElement>(null);
  const readOnly = !workflow.owned;
  const [state, dispatch] = useReducer(editorReducer, workflow, (w) => fromGraph(graphOf(w)));
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

  const addAt = (kind: string, position: { x: number; y: number }) => {
    if (readOnly) return;
    dispatch({ type: "addNode", kind, position });
    setTab("settings");
  };
  const addInView = (kind: string) => {
    const rect = canvasRef.current?.getBoundingClientRect();
    const center = rect
      ? flow.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 })
      : { x: 0, y: 0 };
    addAt(kind, freeSpot(nodes, { x: center.x - 85, y: center.y - 30 }));
  };
  const connect = (connection: Connection) => {
    const problem = connectionProblem(connection, nodes, edges);
    if (problem) saver.showNotice(problem);
    else dispatch({ type: "connect", connection });
  };

  const startRun = async (input: unknown) => {
    const started = await executions.start(workflow.id, input);
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
    <div className="editor">
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
        onSave={() => void saver.save()}
        onExport={() =>
          downloadJson(
            `${fileSafeName(workflow.name)}.relayflow.json`,
            toWorkflowFile({ ...workflow, ...toGraph(nodes, edges) }),
          )
        }
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
        nodes={nodes}
        edges={edges}
        dispatch={dispatch}
        readOnly={readOnly}
        problems={saver.problems}
        statuses={runId ? live.statuses : NO_STATUSES}
        onDropKind={addAt}
        onConnect={connect}
      />
      <DetailsPanel
        workflow={workflow}
        readOnly={readOnly}
        error={saver.error}
        problems={saver.problems}
        selected={selected}
        run={runId ? { id: runId, live, onClose: () => setSearchParams({}) } : null}
        tab={tab}
        onTab={setTab}
        dispatch={dispatch}
      />
      {runDialog ? (
        <RunDialog
          schema={nodes.find((n) => n.type === "input")?.data?.schema}
          onClose={() => setRunDialog(false)}
          onRun={startRun}
        />
      ) : null}
      <UnsavedChangesGuard dirty={dirty} save={saver.save} />
    </div>
  );
}
