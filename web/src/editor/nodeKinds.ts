// Every node kind the engine runs (DESIGN.md "Graph format"): how the palette shows it,
// the `data` a new one starts with, and which handles it offers.

export type NodeKind =
  | "input"
  | "agent"
  | "http"
  | "condition"
  | "transform"
  | "merge"
  | "map"
  | "subworkflow"
  | "approval"
  | "output";

export interface NodeKindInfo {
  kind: NodeKind;
  label: string;
  description: string;
  /** A short glyph shown on the node and in the palette. */
  icon: string;
  hasInput: boolean;
  defaults: () => Record<string, unknown>;
}

export const NODE_KINDS: NodeKindInfo[] = [
  {
    kind: "input",
    label: "Input",
    description: "The execution's input, optionally checked against a JSON Schema.",
    icon: "⇥",
    hasInput: false,
    defaults: () => ({}),
  },
  {
    kind: "agent",
    label: "Agent",
    description: "An LLM agent: a template's defaults, overridden per node.",
    icon: "✦",
    hasInput: true,
    defaults: () => ({ prompt: "{{ input }}" }),
  },
  {
    kind: "http",
    label: "HTTP request",
    description: "Calls a URL (private addresses are blocked unless allowed).",
    icon: "⇄",
    hasInput: true,
    defaults: () => ({ method: "GET", url: "https://" }),
  },
  {
    kind: "condition",
    label: "Condition",
    description: "Picks a branch: the first case whose expression is true.",
    icon: "◇",
    hasInput: true,
    defaults: () => ({ cases: [{ handle: "yes", when: "input.score > 5" }], default: "no" }),
  },
  {
    kind: "transform",
    label: "Transform",
    description: "Builds a value from a template or expression.",
    icon: "ƒ",
    hasInput: true,
    defaults: () => ({ value: "{{ input }}" }),
  },
  {
    kind: "merge",
    label: "Merge",
    description: "Joins branches: waits for all, or goes on with the first.",
    icon: "⋈",
    hasInput: true,
    defaults: () => ({ mode: "all" }),
  },
  {
    kind: "map",
    label: "Map",
    description: "Runs an agent or a workflow over each item of a list.",
    icon: "☰",
    hasInput: true,
    defaults: () => ({ items: "{{ input.items }}", prompt: "{{ item }}", concurrency: 4 }),
  },
  {
    kind: "subworkflow",
    label: "Sub-workflow",
    description: "Runs another workflow as one step.",
    icon: "⊞",
    hasInput: true,
    defaults: () => ({ workflow_id: "", input: "{{ input }}" }),
  },
  {
    kind: "approval",
    label: "Approval",
    description: "Pauses until a person approves or rejects.",
    icon: "✔",
    hasInput: true,
    defaults: () => ({ message: "Please review" }),
  },
  {
    kind: "output",
    label: "Output",
    description: "The execution's output.",
    icon: "⇤",
    hasInput: true,
    defaults: () => ({ value: "{{ input }}" }),
  },
];

const BY_KIND = new Map<string, NodeKindInfo>(NODE_KINDS.map((info) => [info.kind, info]));

export function kindInfo(kind: string): NodeKindInfo | undefined {
  return BY_KIND.get(kind);
}

export interface HandleInfo {
  /** null is React Flow's default (unnamed) handle. */
  id: string | null;
  label: string | null;
}

/** The outgoing handles of a node, derived from its kind and data. */
export function sourceHandles(kind: string, data: Record<string, unknown>): HandleInfo[] {
  if (kind === "output") return [];
  if (kind === "condition") {
    const cases = Array.isArray(data.cases) ? data.cases : [];
    const handles: HandleInfo[] = [];
    for (const item of cases) {
      const handle = typeof item?.handle === "string" ? item.handle : "";
      if (handle && !handles.some((h) => h.id === handle)) handles.push({ id: handle, label: handle });
    }
    const fallback = typeof data.default === "string" ? data.default : "";
    if (fallback && !handles.some((h) => h.id === fallback)) {
      handles.push({ id: fallback, label: `${fallback} (default)` });
    }
    return handles;
  }
  if (kind === "approval") {
    return [
      { id: "approved", label: "approved" },
      { id: "rejected", label: "rejected" },
    ];
  }
  return [{ id: null, label: null }];
}
