// The editor's graph with undo/redo: a pure reducer so it can be tested without a canvas.
import {
  applyEdgeChanges,
  applyNodeChanges,
  type Connection,
  type Edge,
  type EdgeChange,
  type Node,
  type NodeChange,
} from "@xyflow/react";
import type { Graph } from "../api/types";
import { layoutGraph } from "./layout";
import { kindInfo, sourceHandles } from "./nodeKinds";

export type FlowNode = Node<Record<string, unknown>>;
export type FlowEdge = Edge;

interface Snapshot {
  nodes: FlowNode[];
  edges: FlowEdge[];
}

export interface EditorState {
  nodes: FlowNode[];
  edges: FlowEdge[];
  past: Snapshot[];
  future: Snapshot[];
  /** The graph as last loaded or saved, to tell whether there are unsaved changes. */
  saved: string;
  /** Consecutive edits with the same key (typing in one field) make one undo step. */
  coalesceKey: string | null;
}

export type EditorAction =
  /** The server stored `graph`: the graph as it was when the save was sent. */
  | { type: "markSaved"; graph: Graph }
  /** The server's graph replaces the canvas (a restored version): a fresh start. */
  | { type: "load"; graph: Graph }
  /** `data` is laid over the kind's defaults (the server's default model for an agent). */
  | { type: "addNode"; kind: string; position: { x: number; y: number }; id?: string; data?: Record<string, unknown> }
  | { type: "connect"; connection: Connection }
  | { type: "remove"; nodeIds: string[]; edgeIds: string[] }
  | { type: "nodeChanges"; changes: NodeChange<FlowNode>[] }
  | { type: "edgeChanges"; changes: EdgeChange<FlowEdge>[] }
  | { type: "checkpoint" }
  /** "Tidy up": every node to its place in a left-to-right layout, one undo step. */
  | { type: "layout" }
  | { type: "updateData"; id: string; data: Record<string, unknown>; coalesceKey?: string }
  | { type: "select"; id: string | null }
  | { type: "undo" }
  | { type: "redo" };

const HISTORY_LIMIT = 100;

export function fromGraph(graph: Graph): EditorState {
  const nodes: FlowNode[] = graph.nodes.map((n) => ({ ...n, data: { ...n.data } }));
  const edges: FlowEdge[] = graph.edges.map((e) => ({ ...e }));
  return { nodes, edges, past: [], future: [], saved: serialize(nodes, edges), coalesceKey: null };
}

/** The graph to store: React Flow's arrays without the canvas's runtime fields. */
export function toGraph(nodes: FlowNode[], edges: FlowEdge[]): Graph {
  return {
    // The runtime fields are named only to leave them out.
    nodes: nodes.map(({ selected, dragging, measured, resizing, width, height, ...node }) => ({
      ...node,
      type: node.type ?? "",
    })),
    edges: edges.map(({ selected, animated, style, label, className, sourceHandle, targetHandle, ...edge }) => ({
      ...edge,
      ...(sourceHandle != null ? { sourceHandle } : {}),
      ...(targetHandle != null ? { targetHandle } : {}),
    })),
  };
}

function serialize(nodes: FlowNode[], edges: FlowEdge[]): string {
  return JSON.stringify(toGraph(nodes, edges));
}

export function isDirty(state: Pick<EditorState, "nodes" | "edges" | "saved">): boolean {
  return serialize(state.nodes, state.edges) !== state.saved;
}

/** Below the wanted point, the first place no other node occupies. */
export function freeSpot(nodes: { position: { x: number; y: number } }[], wanted: { x: number; y: number }) {
  const spot = { ...wanted };
  const taken = () => nodes.some((n) => Math.abs(n.position.x - spot.x) < 180 && Math.abs(n.position.y - spot.y) < 80);
  for (let tries = 0; tries < 20 && taken(); tries++) spot.y += 90;
  return spot;
}

/** A readable id that Jinja can use as `nodes.agent_2`. */
export function nextNodeId(kind: string, nodes: readonly { id: string }[]): string {
  const base = kind.replace(/[^a-z0-9_]/gi, "_");
  let n = 1;
  while (nodes.some((node) => node.id === `${base}_${n}`)) n += 1;
  return `${base}_${n}`;
}

function edgeId(c: Connection, edges: readonly FlowEdge[]): string {
  const base = `e_${c.source}${c.sourceHandle ? `_${c.sourceHandle}` : ""}_${c.target}`;
  let id = base;
  let n = 2;
  while (edges.some((edge) => edge.id === id)) id = `${base}_${n++}`;
  return id;
}

/** Why a connection is refused, or null when it is fine. */
export function connectionProblem(
  connection: Connection,
  nodes: readonly FlowNode[],
  edges: readonly FlowEdge[],
): string | null {
  if (connection.source === connection.target) return "A node cannot connect to itself.";
  const source = nodes.find((n) => n.id === connection.source);
  const target = nodes.find((n) => n.id === connection.target);
  if (!source || !target) return "Both ends must be nodes on the canvas.";
  if (target.type === "input") return "The input node has no incoming connections.";
  if (source.type === "output") return "The output node has no outgoing connections.";
  const handles = sourceHandles(source.type ?? "", source.data ?? {});
  if (!handles.some((h) => h.id === (connection.sourceHandle ?? null))) {
    return `${source.id} has no handle "${connection.sourceHandle}".`;
  }
  const duplicate = edges.some(
    (e) =>
      e.source === connection.source &&
      e.target === connection.target &&
      (e.sourceHandle ?? null) === (connection.sourceHandle ?? null),
  );
  return duplicate ? "These nodes are already connected." : null;
}

function remember(state: EditorState, coalesceKey: string | null = null): EditorState {
  if (coalesceKey !== null && coalesceKey === state.coalesceKey) return state;
  const past = [...state.past, { nodes: state.nodes, edges: state.edges }].slice(-HISTORY_LIMIT);
  return { ...state, past, future: [], coalesceKey };
}

export function editorReducer(state: EditorState, action: EditorAction): EditorState {
  switch (action.type) {
    case "load":
      return fromGraph(action.graph);
    case "markSaved":
      // Edits made while the save was on its way stay unsaved.
      return { ...state, saved: JSON.stringify(action.graph), coalesceKey: null };
    case "addNode": {
      const info = kindInfo(action.kind);
      if (!info) return state;
      const id = action.id ?? nextNodeId(action.kind, state.nodes);
      const node: FlowNode = {
        id,
        type: action.kind,
        position: action.position,
        data: { ...info.defaults(), ...action.data },
        selected: true,
      };
      const next = remember(state);
      return {
        ...next,
        nodes: [...state.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node],
      };
    }
    case "connect": {
      const c = action.connection;
      if (connectionProblem(c, state.nodes, state.edges)) return state;
      const edge: FlowEdge = {
        id: edgeId(c, state.edges),
        source: c.source,
        target: c.target,
        ...(c.sourceHandle ? { sourceHandle: c.sourceHandle } : {}),
        ...(c.targetHandle ? { targetHandle: c.targetHandle } : {}),
      };
      const next = remember(state);
      return { ...next, edges: [...state.edges, edge] };
    }
    case "remove": {
      const nodeIds = new Set(action.nodeIds);
      const edgeIds = new Set(action.edgeIds);
      const nodes = state.nodes.filter((n) => !nodeIds.has(n.id));
      const edges = state.edges.filter(
        (e) => !edgeIds.has(e.id) && !nodeIds.has(e.source) && !nodeIds.has(e.target),
      );
      if (nodes.length === state.nodes.length && edges.length === state.edges.length) return state;
      return { ...remember(state), nodes, edges };
    }
    case "nodeChanges": {
      // Removals go through "remove" (one undo step); selection, size and drag moves do
      // not create history (a drag is checkpointed once when it starts).
      const changes = action.changes.filter((c) => c.type !== "remove" && c.type !== "add");
      if (!changes.length) return state;
      return { ...state, nodes: applyNodeChanges(changes, state.nodes) };
    }
    case "edgeChanges": {
      const changes = action.changes.filter((c) => c.type === "select");
      if (!changes.length) return state;
      return { ...state, edges: applyEdgeChanges(changes, state.edges) };
    }
    case "checkpoint":
      return remember(state);
    case "layout": {
      const nodes = layoutGraph(state.nodes, state.edges);
      const moved = nodes.some((n, i) => n.position.x !== state.nodes[i].position.x || n.position.y !== state.nodes[i].position.y);
      return moved ? { ...remember(state), nodes } : state;
    }
    case "updateData": {
      const index = state.nodes.findIndex((n) => n.id === action.id);
      if (index === -1) return state;
      const next = remember(state, action.coalesceKey ? `${action.id}:${action.coalesceKey}` : null);
      const nodes = [...state.nodes];
      nodes[index] = { ...nodes[index], data: action.data };
      // Edges from a condition handle that no longer exists would be dangling: drop them.
      const handles = sourceHandles(nodes[index].type ?? "", action.data).map((h) => h.id);
      const edges = state.edges.filter(
        (e) => e.source !== action.id || handles.includes(e.sourceHandle ?? null),
      );
      return { ...next, nodes, edges };
    }
    case "select":
      return {
        ...state,
        nodes: state.nodes.map((n) =>
          (n.id === action.id) === Boolean(n.selected) ? n : { ...n, selected: n.id === action.id },
        ),
        edges: state.edges.map((e) => (e.selected ? { ...e, selected: false } : e)),
      };
    case "undo": {
      const previous = state.past[state.past.length - 1];
      if (!previous) return state;
      return {
        ...state,
        nodes: previous.nodes,
        edges: previous.edges,
        past: state.past.slice(0, -1),
        future: [{ nodes: state.nodes, edges: state.edges }, ...state.future],
        coalesceKey: null,
      };
    }
    case "redo": {
      const [following, ...rest] = state.future;
      if (!following) return state;
      return {
        ...state,
        nodes: following.nodes,
        edges: following.edges,
        past: [...state.past, { nodes: state.nodes, edges: state.edges }],
        future: rest,
        coalesceKey: null,
      };
    }
  }
}
