import { useState, type FormEvent } from "react";
import { errorMessage } from "../api/errors";
import { templates } from "../api/resources";
import type { AgentTemplate } from "../api/types";
import { useLoad } from "../api/useLoad";
import { useAuth } from "../auth/AuthContext";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { Dialog } from "../components/Dialog";
import { EmptyState } from "../components/EmptyState";
import { ErrorBanner } from "../components/ErrorBanner";

type Editing = { template: AgentTemplate | null } | null;

/** Agent templates: the system ones to start from, and the user's own. */
export function TemplatesPage() {
  const { user } = useAuth();
  const loaded = useLoad(() => templates.list(), []);
  const items = loaded.data;
  const [editing, setEditing] = useState<Editing>(null);
  const [deleting, setDeleting] = useState<AgentTemplate | null>(null);
  const isAdmin = user?.role === "admin";

  const system = (items ?? []).filter((t) => t.is_system);
  const mine = (items ?? []).filter((t) => !t.is_system);

  const list = (rows: AgentTemplate[], editable: boolean) => (
    <table className="table">
      <thead>
        <tr>
          <th>Name</th>
          <th>Role</th>
          <th>Model</th>
          <th><span className="sr-only">Actions</span></th>
        </tr>
      </thead>
      <tbody>
        {rows.map((t) => (
          <tr key={t.id}>
            <td>
              <strong>{t.name}</strong>
              {t.system_prompt ? <div className="muted small" style={{ maxWidth: 460 }}>{t.system_prompt.slice(0, 140)}{t.system_prompt.length > 140 ? "…" : ""}</div> : null}
            </td>
            <td>{t.role}</td>
            <td>
              <code>{t.model}</code>
            </td>
            <td>
              <div className="row" style={{ justifyContent: "flex-end" }}>
                {editable ? (
                  <>
                    <button className="small" onClick={() => setEditing({ template: t })}>
                      Edit
                    </button>
                    <button className="small danger" onClick={() => setDeleting(t)}>
                      Delete
                    </button>
                  </>
                ) : (
                  <button className="small" onClick={() => setEditing({ template: { ...t, id: "", is_system: false, name: `${t.name} (mine)` } })}>
                    Copy to mine
                  </button>
                )}
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
        <ConfirmDialog
          title="Delete template?"
          confirmLabel="Delete"
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await templates.remove(deleting.id);
            setDeleting(null);
            await loaded.reload();
          }}
        >
          <p>
            <strong>{deleting.name}</strong> will be deleted. Agent nodes that use it will fail until they pick another.
          </p>
        </ConfirmDialog>
      ) : null}
    </main>
  );
}

function TemplateDialog({ template, onClose, onSaved }: { template: AgentTemplate | null; onClose: () => void; onSaved: () => Promise<void> }) {
  const [name, setName] = useState(template?.name ?? "");
  const [role, setRole] = useState(template?.role ?? "");
  const [model, setModel] = useState(template?.model ?? "test:echo");
  const [systemPrompt, setSystemPrompt] = useState(template?.system_prompt ?? "");
  const [parameters, setParameters] = useState(template?.parameters ? JSON.stringify(template.parameters, null, 2) : "{}");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const editingExisting = Boolean(template?.id);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let params: Record<string, unknown>;
    try {
      params = parameters.trim() ? JSON.parse(parameters) : {};
      if (typeof params !== "object" || params === null || Array.isArray(params)) throw new Error("must be an object");
    } catch (err) {
      setError(new Error(`Parameters: not a JSON object (${errorMessage(err)}).`));
      return;
    }
    const body = { name, role, model, system_prompt: systemPrompt || null, parameters: params };
    setBusy(true);
    setError(null);
    try {
      if (editingExisting && template) await templates.update(template.id, body);
      else await templates.create(body);
      await onSaved();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Dialog title={editingExisting ? "Edit template" : "New template"} onClose={onClose} wide>
      <form className="stack" onSubmit={submit}>
        <ErrorBanner error={error} />
        <div className="row" style={{ alignItems: "stretch" }}>
          <label className="field" style={{ flex: 1 }}>
            Name
            <input required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label className="field" style={{ flex: 1 }}>
            Role
            <input required value={role} onChange={(e) => setRole(e.target.value)} placeholder="researcher" />
          </label>
        </div>
        <label className="field">
          Model
          <span className="hint">provider:model, e.g. openai:gpt-4o, anthropic:claude-sonnet-4-5, ollama:llama3.2, test:echo</span>
          <input required value={model} onChange={(e) => setModel(e.target.value)} />
        </label>
        <label className="field">
          System prompt
          <textarea rows={5} value={systemPrompt} onChange={(e) => setSystemPrompt(e.target.value)} />
        </label>
        <label className="field">
          Parameters
          <span className="hint">JSON object: temperature, max_tokens, output_schema…</span>
          <textarea rows={4} value={parameters} onChange={(e) => setParameters(e.target.value)} />
        </label>
        <div className="row" style={{ justifyContent: "flex-end" }}>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button className="primary" type="submit" disabled={busy}>
            {editingExisting ? "Save" : "Create"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
