// The API types a graph's nodes and edges as `unknown[]`: they are React Flow objects that
// may carry keys of their own. These read them as the screens' GraphNode and GraphEdge,
// checking the keys the server requires of every saved graph instead of trusting a cast.
import { isRecord } from "./errors";
import type { Graph, GraphEdge, GraphNode } from "./types";

function position(value: unknown): { x: number; y: number } {
  return isRecord(value) && typeof value.x === "number" && typeof value.y === "number"
    ? { x: value.x, y: value.y }
    : { x: 0, y: 0 };
}

/** A node with its id and kind; null for anything else. */
export function graphNode(value: unknown): GraphNode | null {
  if (!isRecord(value) || typeof value.id !== "string" || typeof value.type !== "string") return null;
  return {
    ...value,
    id: value.id,
    type: value.type,
    position: position(value.position),
    data: isRecord(value.data) ? value.data : {},
  };
}

/** An edge with its id and both ends; null for anything else. */
export function graphEdge(value: unknown): GraphEdge | null {
  if (!isRecord(value)) return null;
  const { id, source, target } = value;
  if (typeof id !== "string" || typeof source !== "string" || typeof target !== "string") return null;
  return { ...value, id, source, target };
}

/** The nodes and edges of a workflow or an execution's pinned graph, as the canvas draws them. */
export function graphOf(value: unknown): Graph {
  const nodes = isRecord(value) && Array.isArray(value.nodes) ? value.nodes : [];
  const edges = isRecord(value) && Array.isArray(value.edges) ? value.edges : [];
  return {
    nodes: nodes.map(graphNode).filter((n) => n !== null),
    edges: edges.map(graphEdge).filter((e) => e !== null),
  };
}
