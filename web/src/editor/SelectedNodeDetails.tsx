import type { Dispatch } from "react";
import type { AgentTemplate, Credential } from "../api/types";
import { NodeRunDetails } from "../runs/NodeRunDetails";
import type { LiveExecution } from "../runs/useExecutionLive";
import type { EditorAction, FlowNode } from "./editorState";
import { NodeForm } from "./forms/NodeForm";
import { kindInfo } from "./nodeKinds";
import { ProblemList } from "./ProblemList";

export type NodeTab = "settings" | "run";

interface Props {
  node: FlowNode;
  readOnly: boolean;
  problems: string[] | undefined;
  /** The run shown on the canvas, if any: then a tab shows what this node did in it. */
  run: { id: string; live: LiveExecution } | null;
  tab: NodeTab;
  onTab: (tab: NodeTab) => void;
  templates: AgentTemplate[];
  workflows: { id: string; name: string }[];
  credentials?: Credential[];
  dispatch: Dispatch<EditorAction>;
}

/** The selected node: its problems, its settings, and what it did in the run shown. */
export function SelectedNodeDetails({ node, readOnly, problems, run, tab, onTab, templates, workflows, credentials, dispatch }: Props) {
  const kind = node.type ?? "";
  return (
    <>
      <div className="row">
        <h2>{kindInfo(kind)?.label ?? kind}</h2>
        <code className="muted">{node.id}</code>
        <span style={{ flex: 1 }} />
        {!readOnly ? (
          <button className="small danger" onClick={() => dispatch({ type: "remove", nodeIds: [node.id], edgeIds: [] })}>
            Delete
          </button>
        ) : null}
      </div>
      <ProblemList problems={problems} />
      {run ? (
        <div className="tabs" role="tablist">
          <button role="tab" aria-selected={tab === "run"} onClick={() => onTab("run")}>
            Run
          </button>
          <button role="tab" aria-selected={tab === "settings"} onClick={() => onTab("settings")}>
            Settings
          </button>
        </div>
      ) : null}
      {run && tab === "run" ? (
        <NodeRunDetails
          executionId={run.id}
          nodeId={node.id}
          status={run.live.statuses.get(node.id)}
          runs={run.live.runs}
          delta={run.live.deltas.get(node.id)}
          onDecided={run.live.refresh}
        />
      ) : (
        <NodeForm
          key={node.id}
          kind={kind}
          data={node.data}
          readOnly={readOnly}
          templates={templates}
          workflows={workflows}
          credentials={credentials}
          onChange={(data, field) => dispatch({ type: "updateData", id: node.id, data, coalesceKey: field })}
        />
      )}
    </>
  );
}
