import { Background, Controls, MiniMap, ReactFlow, useReactFlow, type Connection } from "@xyflow/react";
import { useMemo, type Dispatch, type DragEvent, type Ref } from "react";
import type { GraphProblems } from "../api/errors";
import { CanvasOverlayContext, type CanvasOverlay, type LiveStatus } from "./canvasOverlay";
import type { EditorAction, FlowEdge, FlowNode } from "./editorState";
import { nodeTypes } from "./nodeTypes";
import { DRAG_TYPE } from "./Palette";

interface Props {
  ref: Ref<HTMLDivElement>;
  nodes: FlowNode[];
  edges: FlowEdge[];
  dispatch: Dispatch<EditorAction>;
  readOnly: boolean;
  problems: GraphProblems;
  /** Each node's state in the run shown; empty when none is. */
  statuses: Map<string, LiveStatus>;
  /** How each node changed, while two versions are compared (the canvas is then a picture). */
  diff: Map<string, "added" | "removed" | "changed">;
  /** A palette entry was dropped: add a node of `kind` at `position` (flow coordinates). */
  onDropKind: (kind: string, position: { x: number; y: number }) => void;
  onConnect: (connection: Connection) => void;
}

const PROBLEM_EDGE = { stroke: "var(--danger)", strokeWidth: 2 };

/** The graph being edited, with the API's problems and the run's progress drawn on it. */
export function WorkflowCanvas(props: Props) {
  const { ref, nodes, edges, dispatch, problems, statuses, diff, onDropKind, onConnect } = props;
  const comparing = diff.size > 0;
  const readOnly = props.readOnly || comparing;
  const flow = useReactFlow();
  const overlay: CanvasOverlay = useMemo(
    () => ({ problems: problems.byNode, statuses, diff }),
    [problems.byNode, statuses, diff],
  );

  // Edges with a problem turn red; an edge into the node running now moves.
  const shownEdges = useMemo(
    () =>
      edges.map((e) => {
        const bad = problems.byEdge.has(e.id);
        const running = statuses.get(e.source) === "finished" && statuses.get(e.target) === "running";
        return bad || running ? { ...e, animated: running, style: bad ? PROBLEM_EDGE : undefined } : e;
      }),
    [edges, problems.byEdge, statuses],
  );

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    if (readOnly) return;
    const kind = e.dataTransfer.getData(DRAG_TYPE);
    if (kind) onDropKind(kind, flow.screenToFlowPosition({ x: e.clientX - 85, y: e.clientY - 25 }));
  };

  return (
    <div className={comparing ? "canvas comparing" : "canvas"} ref={ref} onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
      <CanvasOverlayContext.Provider value={overlay}>
        <ReactFlow
          nodes={nodes}
          edges={shownEdges}
          nodeTypes={nodeTypes}
          onNodesChange={(changes) => dispatch({ type: "nodeChanges", changes })}
          onEdgesChange={(changes) => dispatch({ type: "edgeChanges", changes })}
          onConnect={onConnect}
          onNodeDragStart={() => dispatch({ type: "checkpoint" })}
          onDelete={({ nodes: gone, edges: removed }) =>
            dispatch({ type: "remove", nodeIds: gone.map((n) => n.id), edgeIds: removed.map((e) => e.id) })
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
      {nodes.length === 0 ? <div className="flow-hint">Drag a node from the palette to start.</div> : null}
    </div>
  );
}
