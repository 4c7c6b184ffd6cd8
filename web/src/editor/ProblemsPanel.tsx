// Every problem the last save or check found, with its full text and the node it concerns.
// Choosing one selects that node and brings it to the middle of the canvas.
import type { GraphProblems } from "../api/errors";
import type { FlowEdge, FlowNode } from "./editorState";

export interface Problem {
  /** The node to show: the one named, or the target of the edge named; null for the graph. */
  nodeId: string | null;
  /** What the problem is about, as the user knows it: a node's label and id, an edge's ends. */
  subject: string;
  message: string;
}

function nodeName(id: string, nodes: readonly FlowNode[]): string {
  const label = nodes.find((n) => n.id === id)?.data?.label;
  return typeof label === "string" && label ? `${label} (${id})` : id;
}

/** The problems as one list: the nodes' in canvas order, then the edges', then the graph's. */
export function problemEntries(
  problems: GraphProblems,
  nodes: readonly FlowNode[],
  edges: readonly FlowEdge[],
  withGeneral = true,
): Problem[] {
  const out: Problem[] = [];
  const order = (id: string) => {
    const at = nodes.findIndex((n) => n.id === id);
    return at === -1 ? nodes.length : at;
  };
  for (const id of [...problems.byNode.keys()].sort((a, b) => order(a) - order(b))) {
    for (const message of problems.byNode.get(id) ?? []) out.push({ nodeId: id, subject: nodeName(id, nodes), message });
  }
  for (const [id, messages] of problems.byEdge) {
    const edge = edges.find((e) => e.id === id);
    const subject = edge ? `connection ${edge.source} → ${edge.target}` : `connection ${id}`;
    for (const message of messages) out.push({ nodeId: edge?.target ?? null, subject, message });
  }
  if (withGeneral) for (const message of problems.general) out.push({ nodeId: null, subject: "workflow", message });
  return out;
}

interface Props {
  problems: GraphProblems;
  nodes: readonly FlowNode[];
  edges: readonly FlowEdge[];
  /** The graph-wide problems are shown elsewhere (in the error banner) when false. */
  withGeneral: boolean;
  onFocus: (nodeId: string) => void;
}

export function ProblemsPanel({ problems, nodes, edges, withGeneral, onFocus }: Props) {
  const entries = problemEntries(problems, nodes, edges, withGeneral);
  if (!entries.length) return null;
  return (
    <section className="problems-panel" aria-label="Problems">
      <h3>
        {entries.length === 1 ? "1 problem" : `${entries.length} problems`}
      </h3>
      <ul>
        {entries.map((p, i) => (
          <li key={i}>
            {p.nodeId ? (
              <button type="button" className="problem-item" onClick={() => onFocus(p.nodeId as string)} title="Show this node">
                <span className="problem-subject">{p.subject}</span>
                <span className="problem-message">{p.message}</span>
              </button>
            ) : (
              <div className="problem-item">
                <span className="problem-subject">{p.subject}</span>
                <span className="problem-message">{p.message}</span>
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
