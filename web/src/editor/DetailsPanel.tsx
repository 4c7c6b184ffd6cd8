import type { Dispatch } from "react";
import type { GraphProblems } from "../api/errors";
import { credentials as credentialsApi, templates as templatesApi, workflows as workflowsApi } from "../api/resources";
import type { Workflow } from "../api/types";
import { useLoad } from "../api/useLoad";
import { ErrorBanner } from "../components/ErrorBanner";
import type { LiveExecution } from "../runs/useExecutionLive";
import type { EditorAction, FlowEdge, FlowNode } from "./editorState";
import { ProblemsPanel } from "./ProblemsPanel";
import { RunSummary } from "./RunSummary";
import { SelectedNodeDetails, type NodeTab } from "./SelectedNodeDetails";

interface Props {
  workflow: Workflow;
  readOnly: boolean;
  error: unknown;
  problems: GraphProblems;
  selected: FlowNode[];
  /** The whole graph, to name the nodes problems concern. */
  nodes: FlowNode[];
  edges: FlowEdge[];
  /** Selects a node and centres the canvas on it. */
  onFocusNode: (id: string) => void;
  /** The run shown on the canvas, if any. */
  run: { id: string; live: LiveExecution; onClose: () => void } | null;
  tab: NodeTab;
  onTab: (tab: NodeTab) => void;
  dispatch: Dispatch<EditorAction>;
}

/** The editor's side panel: what went wrong, the run shown, and the selected node or the workflow. */
export function DetailsPanel(props: Props) {
  const { workflow, readOnly, error, problems, selected, run, tab, onTab, dispatch } = props;
  // What the node forms offer to pick from; without them the fields still take typed ids.
  const templates = useLoad(() => templatesApi.list(), []);
  const credentials = useLoad(() => credentialsApi.list(), []);
  const otherWorkflows = useLoad(
    () =>
      workflowsApi
        .list("mine")
        .then((page) => page.items.filter((w) => w.id !== workflow.id).map((w) => ({ id: w.id, name: w.name }))),
    [workflow.id],
  );
  const node = selected.length === 1 ? selected[0] : null;

  return (
    <aside className="side" aria-label="Details">
      <ErrorBanner error={error} />
      <ProblemsPanel
        problems={problems}
        nodes={props.nodes}
        edges={props.edges}
        withGeneral={!error}
        onFocus={props.onFocusNode}
      />
      {run ? <RunSummary runId={run.id} live={run.live} nodeSelected={node !== null} onClose={run.onClose} /> : null}
      {node ? (
        <SelectedNodeDetails
          node={node}
          readOnly={readOnly}
          problems={problems.byNode.get(node.id)}
          run={run}
          tab={tab}
          onTab={onTab}
          templates={templates.data ?? []}
          workflows={otherWorkflows.data ?? []}
          credentials={credentials.data ?? []}
          dispatch={dispatch}
        />
      ) : selected.length > 1 ? (
        <p className="muted">{selected.length} nodes selected. Press Delete to remove them.</p>
      ) : !run ? (
        <WorkflowSummary workflow={workflow} />
      ) : null}
    </aside>
  );
}

function WorkflowSummary({ workflow }: { workflow: Workflow }) {
  return (
    <div className="stack">
      <h2>{workflow.name}</h2>
      {workflow.description ? (
        <p className="muted" style={{ margin: 0 }}>
          {workflow.description}
        </p>
      ) : null}
      <p className="muted small" style={{ margin: 0 }}>
        Select a node to edit it. Templates use Jinja: <code>{"{{ input.topic }}"}</code>,{" "}
        <code>{"{{ nodes.agent_1.output }}"}</code>.
      </p>
    </div>
  );
}
