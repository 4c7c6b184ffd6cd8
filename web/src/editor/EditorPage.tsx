import { ReactFlowProvider } from "@xyflow/react";
import { Link, useParams } from "react-router";
import { workflows } from "../api/resources";
import { useLoad } from "../api/useLoad";
import { ErrorBanner } from "../components/ErrorBanner";
import { WorkflowEditor } from "./WorkflowEditor";

/** /workflows/:workflowId: loads the workflow and opens it in the editor. */
export function EditorPage() {
  const { workflowId = "" } = useParams();
  const workflow = useLoad(() => workflows.get(workflowId), [workflowId]);
  if (workflow.error && !workflow.data) {
    return (
      <main className="page page-narrow">
        <ErrorBanner error={workflow.error} title="Cannot open this workflow" />
        <Link to="/workflows">Back to workflows</Link>
      </main>
    );
  }
  if (!workflow.data) return <p className="page muted">Loading workflow…</p>;
  return (
    <ReactFlowProvider>
      <WorkflowEditor key={workflow.data.id} workflow={workflow.data} onSaved={(saved) => workflow.update(() => saved)} />
    </ReactFlowProvider>
  );
}
