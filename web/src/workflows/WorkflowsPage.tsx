import { useRef, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { workflows, type WorkflowScope } from "../api/resources";
import type { Workflow } from "../api/types";
import { useLoad } from "../api/useLoad";
import { useAuth } from "../auth/AuthContext";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { Dialog } from "../components/Dialog";
import { EmptyState } from "../components/EmptyState";
import { ErrorBanner } from "../components/ErrorBanner";
import { formatTime } from "../components/format";
import { UseAsToolDialog } from "./UseAsToolDialog";
import {
  downloadJson,
  fileSafeName,
  importMessage,
  parseWorkflowFile,
  starterGraph,
  toWorkflowFile,
} from "./workflowFile";

type Editing =
  | { mode: "create" }
  | { mode: "rename"; workflow: Workflow }
  | { mode: "delete"; workflow: Workflow }
  | { mode: "tool"; workflow: Workflow };

export function WorkflowsPage() {
  const { user } = useAuth();
  const navigate = useNavigate();
  const [scope, setScope] = useState<WorkflowScope>("mine");
  const list = useLoad(() => workflows.list(scope), [scope]);
  const items = list.data?.items;
  const [actionError, setActionError] = useState<unknown>(null);
  const [editing, setEditing] = useState<Editing | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  const showScope = (next: WorkflowScope) => {
    setActionError(null);
    setScope(next);
  };

  const loadMore = () =>
    list.extend(async (shown) => {
      const page = await workflows.list(scope, shown.next_cursor);
      return { items: [...shown.items, ...page.items], next_cursor: page.next_cursor };
    });

  const act = async (fn: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await fn();
      await list.reload();
    } catch (err) {
      setActionError(err);
    }
  };

  const duplicate = (wf: Workflow) =>
    act(async () => {
      const full = await workflows.get(wf.id);
      const copy = await workflows.create({
        name: `${full.name} (copy)`,
        description: full.description,
        nodes: full.nodes,
        edges: full.edges,
        metadata: full.metadata,
      });
      navigate(`/workflows/${copy.id}`);
    });

  const exportOne = (wf: Workflow) =>
    act(async () => {
      const full = await workflows.get(wf.id);
      downloadJson(`${fileSafeName(full.name)}.relayflow.json`, toWorkflowFile(full));
    });

  const importFile = async (file: File) => {
    setActionError(null);
    try {
      const parsed = parseWorkflowFile(await file.text(), file.name.replace(/\.(relayflow\.)?json$/i, ""));
      // Always a new workflow (version 1): an import never rewrites an existing history.
      const { workflow_version: _exported, ...body } = parsed;
      const created = await workflows.create({ ...body, version_message: importMessage(parsed) });
      navigate(`/workflows/${created.id}`);
    } catch (err) {
      setActionError(err);
    }
  };

  const scopes: [WorkflowScope, string][] = [
    ["mine", "Mine"],
    ["public", "Public"],
    ...(user?.role === "admin" ? ([["all", "All (admin)"]] as [WorkflowScope, string][]) : []),
  ];

  return (
    <main className="page">
      <div className="page-narrow">
        <div className="page-header">
          <h1>Workflows</h1>
          <span className="spacer" />
          <button onClick={() => fileInput.current?.click()}>Import JSON</button>
          <input
            ref={fileInput}
            type="file"
            accept="application/json,.json"
            className="sr-only"
            aria-label="Import a workflow file"
            tabIndex={-1}
            onChange={(e) => {
              const file = e.target.files?.[0];
              e.target.value = "";
              if (file) void importFile(file);
            }}
          />
          <button className="primary" onClick={() => setEditing({ mode: "create" })}>
            New workflow
          </button>
        </div>
        <div className="tabs" role="tablist" aria-label="Which workflows">
          {scopes.map(([value, label]) => (
            <button key={value} role="tab" aria-selected={scope === value} onClick={() => showScope(value)}>
              {label}
            </button>
          ))}
        </div>
        <ErrorBanner error={actionError ?? list.error} />
        {items === undefined ? (
          list.error ? null : <p className="muted">Loading…</p>
        ) : items.length === 0 ? (
          scope === "mine" ? (
            <EmptyState
              title="No workflows yet"
              actions={
                <>
                  <button className="primary" onClick={() => setEditing({ mode: "create" })}>
                    Create a workflow
                  </button>
                  <button onClick={() => fileInput.current?.click()}>Import one</button>
                </>
              }
            >
              A workflow wires agents, tools and control flow into a graph you can run, schedule or call by webhook.
            </EmptyState>
          ) : (
            <EmptyState title="Nothing here">No workflows have been shared yet.</EmptyState>
          )
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Nodes</th>
                <th>Visibility</th>
                <th>Updated</th>
                <th><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {items.map((wf) => (
                <tr key={wf.id}>
                  <td>
                    <Link to={`/workflows/${wf.id}`}>{wf.name}</Link>
                    {wf.description ? <div className="muted small">{wf.description}</div> : null}
                  </td>
                  <td>{Array.isArray(wf.nodes) ? wf.nodes.length : "—"}</td>
                  <td>
                    {wf.owned ? (
                      <label className="check small">
                        <input
                          type="checkbox"
                          checked={Boolean(wf.is_public)}
                          onChange={(e) => act(() => workflows.update(wf.id, { is_public: e.target.checked }))}
                        />
                        Public
                      </label>
                    ) : (
                      <span className="badge plain">{wf.is_public ? "public · read-only" : "shared"}</span>
                    )}
                  </td>
                  <td className="muted small">{formatTime(wf.updated_at)}</td>
                  <td>
                    <div className="row" style={{ justifyContent: "flex-end" }}>
                      <Link className="button small" to={`/workflows/${wf.id}/executions`}>
                        Runs
                      </Link>
                      {wf.owned ? (
                        <button className="small" onClick={() => setEditing({ mode: "rename", workflow: wf })}>
                          Rename
                        </button>
                      ) : null}
                      {wf.owned ? (
                        <button className="small" onClick={() => setEditing({ mode: "tool", workflow: wf })}>
                          Use as a tool
                        </button>
                      ) : null}
                      <button className="small" onClick={() => duplicate(wf)}>
                        Duplicate
                      </button>
                      <button className="small" onClick={() => exportOne(wf)}>
                        Export
                      </button>
                      {wf.owned ? (
                        <button className="small danger" onClick={() => setEditing({ mode: "delete", workflow: wf })}>
                          Delete
                        </button>
                      ) : null}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {list.data?.next_cursor ? (
          <div className="row" style={{ justifyContent: "center", marginTop: 12 }}>
            <button onClick={() => void loadMore()}>Load more</button>
          </div>
        ) : null}
      </div>
      {editing?.mode === "create" ? (
        <NameDialog
          title="New workflow"
          submitLabel="Create"
          onClose={() => setEditing(null)}
          onSubmit={async (name, description) => {
            const created = await workflows.create({ name, description: description || null, ...starterGraph() });
            navigate(`/workflows/${created.id}`);
          }}
        />
      ) : null}
      {editing?.mode === "rename" ? (
        <NameDialog
          title="Rename workflow"
          submitLabel="Save"
          initialName={editing.workflow.name}
          initialDescription={editing.workflow.description ?? ""}
          onClose={() => setEditing(null)}
          onSubmit={async (name, description) => {
            await workflows.update(editing.workflow.id, { name, description: description || null });
            setEditing(null);
            await list.reload();
          }}
        />
      ) : null}
      {editing?.mode === "delete" ? (
        <ConfirmDialog
          title="Delete workflow?"
          confirmLabel="Delete"
          onClose={() => setEditing(null)}
          onConfirm={async () => {
            await workflows.remove(editing.workflow.id);
            setEditing(null);
            await list.reload();
          }}
        >
          <p>
            <strong>{editing.workflow.name}</strong>, its executions, webhooks and schedules will be deleted. This cannot
            be undone.
          </p>
        </ConfirmDialog>
      ) : null}
      {editing?.mode === "tool" ? (
        <UseAsToolDialog
          workflow={editing.workflow}
          origin={window.location.origin}
          update={(changes) => workflows.update(editing.workflow.id, changes)}
          onClose={() => {
            setEditing(null);
            void list.reload();
          }}
        />
      ) : null}
    </main>
  );
}

function NameDialog(props: {
  title: string;
  submitLabel: string;
  initialName?: string;
  initialDescription?: string;
  onClose: () => void;
  onSubmit: (name: string, description: string) => Promise<void>;
}) {
  const [name, setName] = useState(props.initialName ?? "");
  const [description, setDescription] = useState(props.initialDescription ?? "");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return setError(new Error("A name is required."));
    setBusy(true);
    try {
      await props.onSubmit(name.trim(), description.trim());
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <form className="stack" onSubmit={submit}>
        <ErrorBanner error={error} />
        <label className="field">
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={255} />
        </label>
        <label className="field">
          Description <span className="hint">optional</span>
          <input value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <div className="row" style={{ justifyContent: "flex-end" }}>
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button className="primary" type="submit" disabled={busy}>
            {props.submitLabel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
