// Lays a graph out in layers from left to right, the way its handles point (inputs on the
// left, outputs on the right). Used by "Tidy up" and for graphs loaded without positions.
import dagre from "@dagrejs/dagre";
import { graphOf } from "../api/graph";
import type { Graph } from "../api/types";

export interface Box {
  width: number;
  height: number;
}

export interface LayoutNode {
  id: string;
  position: { x: number; y: number };
  /** React Flow's measured size, once the node has been drawn. */
  measured?: { width?: number; height?: number };
}

export interface LayoutEdge {
  source: string;
  target: string;
}

/**
 * A node not yet drawn is assumed this big: the widest a node gets (styles.css caps it at
 * 240px) and tall enough for its name, kind and summary, so nothing overlaps once drawn.
 */
export const UNMEASURED: Box = { width: 240, height: 80 };

/** The gap between layers leaves room for a condition's handle labels right of its node. */
const LAYER_GAP = 120;
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
  return nodes.map((node, i) => ({
    ...node,
    position: { x: Math.round(corners[i].x - left), y: Math.round(corners[i].y - top) },
  }));
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
