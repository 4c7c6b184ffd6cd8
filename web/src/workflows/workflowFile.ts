// Import and export of a workflow as a JSON file.
import { errorMessage, isRecord } from "../api/errors";
import { graphEdge, graphNode, graphOf } from "../api/graph";
import type { Graph } from "../api/types";

export const FILE_FORMAT = "relayflow.workflow";

export interface WorkflowFile extends Graph {
  format: typeof FILE_FORMAT;
  version: 1;
  name: string;
  description: string | null;
  metadata: Record<string, unknown>;
  /** The workflow version exported (its draft); an import records where it came from. */
  workflow_version: number | null;
}

export function toWorkflowFile(workflow: {
  name: string;
  description?: string | null;
  nodes: unknown;
  edges: unknown;
  metadata?: unknown;
  draft_version?: number | null;
}): WorkflowFile {
  return {
    format: FILE_FORMAT,
    version: 1,
    name: workflow.name,
    description: workflow.description ?? null,
    ...graphOf(workflow),
    metadata: isRecord(workflow.metadata) ? workflow.metadata : {},
    workflow_version: workflow.draft_version ?? null,
  };
}

/** The note on version 1 of a workflow made from an imported file. */
export function importMessage(file: { name: string; workflow_version: number | null }): string {
  return file.workflow_version
    ? `Imported from version ${file.workflow_version} of "${file.name}"`
    : `Imported from a file`;
}

/** Reads an exported file (or any `{name?, nodes, edges}` JSON); throws a readable Error. */
export function parseWorkflowFile(text: string, fallbackName: string): Omit<WorkflowFile, "format" | "version"> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`The file is not valid JSON (${errorMessage(error)}).`);
  }
  if (!isRecord(value)) throw new Error("The file must hold a JSON object with nodes and edges.");
  if (!Array.isArray(value.nodes)) throw new Error('The file has no "nodes" list.');
  if (!Array.isArray(value.edges)) throw new Error('The file has no "edges" list.');
  const nodes = value.nodes.map((node: unknown, i) => {
    const read = graphNode(node);
    if (!read) throw new Error(`nodes[${i}] needs a string "id" and "type".`);
    return read;
  });
  const edges = value.edges.map((edge: unknown, i) => {
    const read = graphEdge(edge);
    if (!read) throw new Error(`edges[${i}] needs a string "id", "source" and "target".`);
    return read;
  });
  const name = typeof value.name === "string" && value.name.trim() ? value.name : fallbackName;
  return {
    name,
    description: typeof value.description === "string" ? value.description : null,
    nodes,
    edges,
    metadata: isRecord(value.metadata) ? value.metadata : {},
    workflow_version:
      typeof value.workflow_version === "number" && Number.isInteger(value.workflow_version) ? value.workflow_version : null,
  };
}

export function downloadJson(filename: string, value: unknown): void {
  const blob = new Blob([JSON.stringify(value, null, 2) + "\n"], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function fileSafeName(name: string): string {
  return name.replace(/[^a-z0-9-_]+/gi, "-").replace(/^-+|-+$/g, "").toLowerCase() || "workflow";
}

/** The graph a new workflow starts with: its input passed straight to its output. */
export function starterGraph(): Graph {
  return {
    nodes: [
      { id: "input_1", type: "input", position: { x: 0, y: 120 }, data: {} },
      { id: "output_1", type: "output", position: { x: 520, y: 120 }, data: { value: "{{ input }}" } },
    ],
    edges: [{ id: "e_input_1_output_1", source: "input_1", target: "output_1" }],
  };
}
