// Lays a graph out in layers from left to right, the way its handles point (inputs on the
// left, outputs on the right). Used by "Tidy up" and for graphs loaded without positions.
import dagre from "@dagrejs/dagre";
import { graphOf } from "../api/graph";
import type { Graph } from "../api/types";
import { sourceHandles } from "./nodeKinds";

export interface Box {
  width: number;
  height: number;
}

export interface LayoutNode {
  id: string;
  position: { x: number; y: number };
  /** React Flow's measured size, once the node has been drawn. */
  measured?: { width?: number; height?: number };
  /** The kind and data tell a node's outgoing handles, top to bottom. */
  type?: string;
  data?: Record<string, unknown>;
}

export interface LayoutEdge {
  source: string;
  target: string;
  sourceHandle?: string | null;
}

/**
 * A node not yet drawn is assumed this big: the widest a node gets (styles.css caps it at
 * 240px) and tall enough for its name, kind and summary, so nothing overlaps once drawn.
 */
export const UNMEASURED: Box = { width: 240, height: 80 };

/** The gap between layers leaves room for a condition's handle labels right of its node. */
const LAYER_GAP = 100;
/** The gap between nodes of one layer leaves room for a line or two of problems. */
const NODE_GAP = 56;

function boxOf(node: LayoutNode): Box {
  const { width, height } = node.measured ?? {};
  return { width: width || UNMEASURED.width, height: height || UNMEASURED.height };
}

/** The nodes with new positions (top-left corners, the first layer at x = 0). */
export function layoutGraph<N extends LayoutNode>(nodes: readonly N[], edges: readonly LayoutEdge[]): N[] {
  if (!nodes.length) return [];
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", ranksep: LAYER_GAP, nodesep: NODE_GAP, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) g.setNode(node.id, { ...boxOf(node) });
  edges.forEach((edge, i) => {
    if (g.hasNode(edge.source) && g.hasNode(edge.target) && edge.source !== edge.target) {
      g.setEdge(edge.source, edge.target, {}, String(i));
    }
  });
  dagre.layout(g);
  const corners = nodes.map((node) => {
    const { x, y, width, height } = g.node(node.id) as { x: number; y: number; width: number; height: number };
    return { x: x - width / 2, y: y - height / 2 };
  });
  const left = Math.min(...corners.map((c) => c.x));
  const top = Math.min(...corners.map((c) => c.y));
  const placed = nodes.map((node, i) => ({
    ...node,
    position: { x: Math.round(corners[i].x - left), y: Math.round(corners[i].y - top) },
  }));
  followHandleOrder(placed, edges);
  return placed;
}

/**
 * The layout library knows nothing of handles: where a condition's (or approval's) branches
 * sit one above the other in the next layer, put them in the order of the handles they
 * hang from, so their edges do not cross. Only a run of branches with nothing between them
 * is reordered, restacked within the room it had, so no box can come to overlap another.
 */
function centerX(node: LayoutNode): number {
  return node.position.x + boxOf(node).width / 2;
}

function followHandleOrder(nodes: LayoutNode[], edges: readonly LayoutEdge[]): void {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const incoming = new Map<string, number>();
  for (const e of edges) incoming.set(e.target, (incoming.get(e.target) ?? 0) + 1);
  for (const source of nodes) {
    const handles = sourceHandles(source.type ?? "", source.data ?? {}).map((h) => h.id);
    if (handles.length < 2) continue;
    const rank = (e: LayoutEdge) => handles.indexOf(e.sourceHandle ?? null);
    const branches = edges
      .filter((e) => e.source === source.id && rank(e) !== -1 && incoming.get(e.target) === 1)
      .map((e) => ({ node: byId.get(e.target), rank: rank(e) }))
      .filter((b): b is { node: LayoutNode; rank: number } => b.node !== undefined);
    if (branches.length < 2) continue;
    // One layer shares a centre line; nodes of different widths have different left edges.
    const inLayer = (n: LayoutNode) => Math.abs(centerX(n) - centerX(branches[0].node)) < 1;
    if (!branches.every((b) => inLayer(b.node))) continue;
    const members = new Set(branches.map((b) => b.node));
    const layer = nodes.filter(inLayer).sort((a, b) => a.position.y - b.position.y);
    const at = layer.findIndex((n) => members.has(n));
    if (!layer.slice(at, at + members.size).every((n) => members.has(n))) continue;
    let y = Math.min(...branches.map((b) => b.node.position.y));
    for (const { node } of branches.sort((a, b) => a.rank - b.rank)) {
      node.position = { x: node.position.x, y };
      y += boxOf(node).height + NODE_GAP;
    }
  }
}

/** Whether a stored graph's nodes were saved without positions (an import, an API call). */
export function lacksPositions(rawNodes: readonly unknown[]): boolean {
  return rawNodes.some((node) => {
    const p = typeof node === "object" && node !== null ? (node as { position?: unknown }).position : undefined;
    const point = typeof p === "object" && p !== null ? (p as { x?: unknown; y?: unknown }) : null;
    return !point || typeof point.x !== "number" || typeof point.y !== "number";
  });
}

/** A stored workflow's graph for the canvas: laid out when its nodes came without positions. */
export function placedGraph(value: unknown): Graph {
  const graph = graphOf(value);
  const raw = typeof value === "object" && value !== null ? (value as { nodes?: unknown }).nodes : undefined;
  if (!Array.isArray(raw) || !lacksPositions(raw)) return graph;
  return { ...graph, nodes: layoutGraph(graph.nodes, graph.edges) };
}
