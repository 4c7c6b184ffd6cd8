import { Link } from "react-router";
import type { AgentTemplate } from "../api/types";
import { useLoad } from "../api/useLoad";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { ErrorBanner } from "../components/ErrorBanner";
import { templateActions } from "./templateApi";

/** Asks before deleting a template, listing the workflows whose agents would lose it. */
export function DeleteTemplateDialog({
  template,
  onClose,
  onDeleted,
}: {
  template: AgentTemplate;
  onClose: () => void;
  onDeleted: () => Promise<void>;
}) {
  const usage = useLoad(() => templateActions.usage(template.id), [template.id]);
  const inUse = (usage.data?.used_by ?? 0) > 0;
  return (
    <ConfirmDialog
      title="Delete template?"
      confirmLabel={inUse ? "Delete anyway" : "Delete"}
      onClose={onClose}
      onConfirm={async () => {
        // Only what the dialog showed is forced: a workflow that starts using it
        // meanwhile makes the server refuse, and the dialog shows why.
        await templateActions.remove(template.id, inUse);
        await onDeleted();
      }}
    >
      <ErrorBanner error={usage.error} />
      {usage.data === undefined ? (
        usage.error ? null : <p className="muted">Checking which workflows use it…</p>
      ) : inUse ? (
        <>
          <p>
            <strong>{template.name}</strong> is used by {usage.data.used_by} workflow
            {usage.data.used_by === 1 ? "" : "s"}. Their agent nodes will fail until they pick
            another template:
          </p>
          <ul aria-label="Workflows using it">
            {usage.data.workflows.map((w) => (
              <li key={w.id}>
                <Link to={`/workflows/${w.id}`}>{w.name}</Link>
              </li>
            ))}
            {usage.data.others ? (
              <li>
                {usage.data.others} workflow{usage.data.others === 1 ? "" : "s"} of other users
              </li>
            ) : null}
          </ul>
        </>
      ) : (
        <p>
          <strong>{template.name}</strong> will be deleted. No workflow uses it.
        </p>
      )}
    </ConfirmDialog>
  );
}
