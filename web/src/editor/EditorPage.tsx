import { ReactFlowProvider } from "@xyflow/react";
import { Link, useParams } from "react-router";
import { accounts, workflows } from "../api/resources";
import { useLoad } from "../api/useLoad";
import { ErrorBanner } from "../components/ErrorBanner";
import { WorkflowEditor } from "./WorkflowEditor";

/** /workflows/:workflowId: loads the workflow and opens it in the editor. */
export function EditorPage() {
  const { workflowId = "" } = useParams();
  const workflow = useLoad(() => workflows.get(workflowId), [workflowId]);
  // Read beside the workflow: a new agent starts with the server's default model, so the
  // editor opens once it is known (or could not be read), never before.
  const me = useLoad(() => accounts.me(), []);
  if (workflow.error && !workflow.data) {
    return (
      <main className="page page-narrow">
        <ErrorBanner error={workflow.error} title="Cannot open this workflow" />
        <Link to="/workflows">Back to workflows</Link>
      </main>
    );
  }
  if (!workflow.data || me.loading) return <p className="page muted">Loading workflow…</p>;
  return (
    <ReactFlowProvider>
      <WorkflowEditor
        key={workflow.data.id}
        workflow={workflow.data}
        defaultModel={me.data?.default_model ?? null}
        onSaved={(saved) => workflow.update(() => saved)}
      />
    </ReactFlowProvider>
  );
}
