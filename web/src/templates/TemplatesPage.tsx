import { useState } from "react";
import { errorMessage } from "../api/errors";
import { templates } from "../api/resources";
import type { AgentTemplate } from "../api/types";
import { useLoad } from "../api/useLoad";
import { useAuth } from "../auth/AuthContext";
import { EmptyState } from "../components/EmptyState";
import { ErrorBanner } from "../components/ErrorBanner";
import { DeleteTemplateDialog } from "./DeleteTemplateDialog";
import { TemplateDialog } from "./TemplateDialog";
import { templateActions, usedByLabel } from "./templateApi";

type Editing = { template: AgentTemplate | null } | null;

/** Agent templates: the system ones to start from, and the user's own. */
export function TemplatesPage() {
  const { user } = useAuth();
  const loaded = useLoad(() => templates.list(), []);
  const items = loaded.data;
  const [editing, setEditing] = useState<Editing>(null);
  const [deleting, setDeleting] = useState<AgentTemplate | null>(null);
  const [copying, setCopying] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const isAdmin = user?.role === "admin";

  const system = (items ?? []).filter((t) => t.is_system);
  const mine = (items ?? []).filter((t) => !t.is_system);

  const copy = async (t: AgentTemplate) => {
    setCopying(t.id);
    setActionError(null);
    setNotice(null);
    try {
      const made = await templateActions.copy(t.id);
      await loaded.reload();
      setNotice(`Copied to your templates as “${made.name}”.`);
    } catch (err) {
      setActionError(new Error(`Could not copy ${t.name}: ${errorMessage(err)}`));
    } finally {
      setCopying(null);
    }
  };

  const list = (rows: AgentTemplate[], changeable: boolean) => (
    <table className="table">
      <thead>
        <tr>
          <th>Name</th>
          <th>Role</th>
          <th>Model</th>
          <th>Used by</th>
          <th><span className="sr-only">Actions</span></th>
        </tr>
      </thead>
      <tbody>
        {rows.map((t) => (
          <tr key={t.id} aria-label={t.name}>
            <td>
              <strong>{t.name}</strong>
              {t.system_prompt ? <div className="muted small" style={{ maxWidth: 460 }}>{t.system_prompt.slice(0, 140)}{t.system_prompt.length > 140 ? "…" : ""}</div> : null}
            </td>
            <td>{t.role}</td>
            <td>
              <code>{t.model}</code>
            </td>
            <td className="small">{usedByLabel(t.used_by ?? 0)}</td>
            <td>
              <div className="row" style={{ justifyContent: "flex-end" }}>
                <button className="small" disabled={copying === t.id} onClick={() => copy(t)}>
                  {t.is_system ? "Copy to mine" : "Duplicate"}
                </button>
                {changeable ? (
                  <>
                    <button className="small" onClick={() => setEditing({ template: t })}>
                      Edit
                    </button>
                    <button className="small danger" onClick={() => setDeleting(t)}>
                      Delete
                    </button>
                  </>
                ) : null}
              </div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );

  return (
    <main className="page">
      <div className="page-narrow stack">
        <div className="page-header" style={{ marginBottom: 0 }}>
          <h1>Agent templates</h1>
          <span className="spacer" />
          <button className="primary" onClick={() => setEditing({ template: null })}>
            New template
          </button>
        </div>
        <p className="muted" style={{ margin: 0 }}>
          A template gives an agent node its role, model, system prompt and parameters; each node can override them.
        </p>
        <ErrorBanner error={loaded.error} />
        <ErrorBanner error={actionError} />
        {notice ? (
          <p role="status" className="small">
            {notice}
          </p>
        ) : null}
        {items === undefined ? (
          loaded.error ? null : <p className="muted">Loading…</p>
        ) : (
          <>
            <h2>Your templates</h2>
            {mine.length ? (
              list(mine, true)
            ) : (
              <EmptyState title="No templates of your own yet" actions={<button onClick={() => setEditing({ template: null })}>Create one</button>}>
                Start from scratch or copy a system template below.
              </EmptyState>
            )}
            <h2>System templates</h2>
            {system.length ? list(system, isAdmin) : <EmptyState title="No system templates" />}
          </>
        )}
      </div>
      {editing ? (
        <TemplateDialog
          template={editing.template}
          onClose={() => setEditing(null)}
          onSaved={async () => {
            setEditing(null);
            await loaded.reload();
          }}
        />
      ) : null}
      {deleting ? (
        <DeleteTemplateDialog
          template={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={async () => {
            setDeleting(null);
            await loaded.reload();
          }}
        />
      ) : null}
    </main>
  );
}
