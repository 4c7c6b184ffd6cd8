// Drawing what changed between two versions on the canvas: the newer graph, plus the
// nodes and edges the older one had and the newer one lost, each marked.
import type { Edge } from "@xyflow/react";
import type { Graph, VersionDiff } from "../api/types";
import type { FlowEdge, FlowNode } from "./editorState";

export type DiffMark = "added" | "removed" | "changed";

export interface DiffCanvas {
  nodes: FlowNode[];
  edges: FlowEdge[];
  /** Node id -> how it changed; nodes left out are the same in both versions. */
  marks: Map<string, DiffMark>;
}

export const DIFF_COLORS: Record<DiffMark, string> = {
  added: "var(--ok)",
  removed: "var(--danger)",
  changed: "var(--warn)",
};

function edgeKey(edge: { source: string; target: string; sourceHandle?: string | null; targetHandle?: string | null }) {
  return JSON.stringify([edge.source, edge.sourceHandle ?? null, edge.target, edge.targetHandle ?? null]);
}

function markedEdge(edge: Edge, mark: "added" | "removed", id = edge.id): FlowEdge {
  return {
    ...edge,
    id,
    className: `diff-${mark}`,
    data: { ...(edge.data ?? {}), diff: mark },
    style: { stroke: DIFF_COLORS[mark], strokeWidth: 2.5, ...(mark === "removed" ? { strokeDasharray: "6 4" } : {}) },
    selectable: false,
  };
}

/**
 * The canvas for "what turns `older` into `newer`": every node and edge of `newer`
 * (added ones green, changed ones amber) and the removed ones of `older` in red,
 * where they used to be. Nothing is draggable or connectable: it is a picture.
 */
export function diffCanvas(older: Graph, newer: Graph, diff: VersionDiff): DiffCanvas {
  const marks = new Map<string, DiffMark>();
  for (const node of diff.nodes.added) marks.set(String(node.id), "added");
  for (const change of diff.nodes.changed) marks.set(change.id, "changed");
  const removedIds = new Set(diff.nodes.removed.map((n) => String(n.id)));
  for (const id of removedIds) marks.set(id, "removed");

  const asShown = (node: Graph["nodes"][number]): FlowNode => ({
    ...node,
    data: { ...node.data },
    draggable: false,
    connectable: false,
    selected: false,
  });
  const nodes = [
    ...newer.nodes.map(asShown),
    ...older.nodes.filter((n) => removedIds.has(n.id)).map(asShown),
  ];

  const added = new Set(diff.edges.added.map((e) => edgeKey(e as FlowEdge)));
  const removed = new Set(diff.edges.removed.map((e) => edgeKey(e as FlowEdge)));
  const edges: FlowEdge[] = newer.edges.map((e) =>
    added.has(edgeKey(e)) ? markedEdge(e, "added") : { ...e, selectable: false },
  );
  for (const edge of older.edges) {
    // A removed edge may share its id with an edge of the newer graph: keep ids unique.
    if (removed.has(edgeKey(edge))) edges.push(markedEdge(edge, "removed", `removed:${edge.id}`));
  }
  return { nodes, edges, marks };
}

/** A field's value as the change list shows it: strings as they are, the rest as JSON. */
export function shownValue(value: unknown): string {
  if (value === null || value === undefined) return "(not set)";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** One line per change, for the panel beside the canvas. */
export function diffSummary(diff: VersionDiff): string[] {
  const lines: string[] = [];
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  if (diff.nodes.added.length) lines.push(`${count(diff.nodes.added.length, "node")} added`);
  if (diff.nodes.removed.length) lines.push(`${count(diff.nodes.removed.length, "node")} removed`);
  if (diff.nodes.changed.length) lines.push(`${count(diff.nodes.changed.length, "node")} changed`);
  if (diff.nodes.moved.length) lines.push(`${count(diff.nodes.moved.length, "node")} moved`);
  if (diff.edges.added.length) lines.push(`${count(diff.edges.added.length, "connection")} added`);
  if (diff.edges.removed.length) lines.push(`${count(diff.edges.removed.length, "connection")} removed`);
  return lines.length ? lines : ["No changes"];
}
