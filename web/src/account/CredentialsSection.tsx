import { useState, type FormEvent } from "react";
import { errorMessage } from "../api/errors";
import { credentials } from "../api/resources";
import type { Credential, CredentialKind } from "../api/types";
import { useLoad } from "../api/useLoad";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { EmptyState } from "../components/EmptyState";
import { ErrorBanner } from "../components/ErrorBanner";
import { KIND_NAMES, KINDS, type SettingName } from "./kinds";

/** Credentials: values are typed once, then only ever shown masked; they can be replaced. */
export function CredentialsSection({ isAdmin }: { isAdmin: boolean }) {
  const list = useLoad(() => credentials.list(), []);
  const [error, setError] = useState<unknown>(null);
  const [deleting, setDeleting] = useState<Credential | null>(null);
  const [usage, setUsage] = useState<Credential | null>(null);

  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(err);
    }
    await list.reload();
  };

  return (
    <section className="stack" aria-labelledby="credentials-title">
      <h2 id="credentials-title" style={{ margin: 0 }}>
        Credentials
      </h2>
      <p className="muted small" style={{ margin: 0 }}>
        Keys and secrets your workflows use by reference. A value is stored encrypted and never shown again, only
        masked; you can replace it.
      </p>
      <ErrorBanner error={error ?? list.error} />
      {list.data && list.data.length === 0 ? <EmptyState title="No credentials yet" /> : null}
      {list.data && list.data.length > 0 ? (
        <table className="table" aria-label="Credentials">
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>Value</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.data.map((c) => (
              <CredentialRow
                key={c.id}
                credential={c}
                onReplace={(value) => act(() => credentials.update(c.id, { value }))}
                onDelete={() => setDeleting(c)}
                onUsage={async () => setUsage(await credentials.get(c.id))}
              />
            ))}
          </tbody>
        </table>
      ) : null}
      {usage ? (
        <div className="card stack" data-testid="credential-usage">
          <strong>Where “{usage.name}” is used</strong>
          {usage.used_by && usage.used_by.length > 0 ? (
            <ul>
              {usage.used_by.map((u, i) => (
                <li key={i}>
                  {u.workflow_name
                    ? `workflow “${u.workflow_name}”, node ${u.node_id} (${u.field})`
                    : `agent template “${u.template_name}”`}
                </li>
              ))}
            </ul>
          ) : (
            <span className="muted">Nowhere in your workflows or templates.</span>
          )}
          <button className="small" onClick={() => setUsage(null)}>
            Close
          </button>
        </div>
      ) : null}
      <NewCredentialForm isAdmin={isAdmin} onCreate={(body) => act(() => credentials.create(body))} />
      {deleting ? (
        <ConfirmDialog
          title="Delete credential"
          confirmLabel="Delete"
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await credentials.remove(deleting.id);
            setDeleting(null);
            await list.reload();
          }}
        >
          Delete “{deleting.name}”? Workflows that use it will fail at that node.
        </ConfirmDialog>
      ) : null}
    </section>
  );
}

function CredentialRow(props: {
  credential: Credential;
  onReplace: (value: string) => Promise<void>;
  onDelete: () => void;
  onUsage: () => void;
}) {
  const { credential: c } = props;
  const [replacing, setReplacing] = useState(false);
  const [value, setValue] = useState("");
  const [checked, setChecked] = useState<{ ok: boolean; message: string } | null>(null);
  const test = async () => {
    setChecked({ ok: true, message: "Testing…" });
    try {
      setChecked(await credentials.test(c.id));
    } catch (err) {
      setChecked({ ok: false, message: errorMessage(err) });
    }
  };
  return (
    <tr>
      <td>
        {c.name}
        {c.shared ? <span className="muted small"> · shared</span> : null}
      </td>
      <td>{KINDS[c.kind]?.label ?? c.kind}</td>
      <td>
        {replacing ? (
          <form
            className="row"
            onSubmit={async (e) => {
              e.preventDefault();
              await props.onReplace(value);
              setReplacing(false);
              setValue("");
            }}
          >
            <input
              type="password"
              aria-label={`New value for ${c.name}`}
              value={value}
              onChange={(e) => setValue(e.target.value)}
              autoComplete="off"
            />
            <button type="submit" className="small primary" disabled={!value}>
              Save
            </button>
          </form>
        ) : (
          <code data-testid="credential-hint">{c.has_value ? c.value_hint || "••••" : "—"}</code>
        )}
      </td>
      <td className="row">
        {KINDS[c.kind]?.group === "provider" ? (
          <button className="small" onClick={test}>
            Test
          </button>
        ) : null}
        {checked ? (
          <span className={checked.ok ? "small" : "small error"} role="status">
            {checked.message}
          </span>
        ) : null}
        <button className="small" onClick={props.onUsage}>
          Where used
        </button>
        {c.owned ? (
          <>
            <button className="small" onClick={() => setReplacing(!replacing)}>
              Replace value
            </button>
            <button className="small danger" onClick={props.onDelete}>
              Delete
            </button>
          </>
        ) : null}
      </td>
    </tr>
  );
}

function NewCredentialForm(props: {
  isAdmin: boolean;
  onCreate: (body: {
    name: string;
    kind: CredentialKind;
    value?: string | null;
    shared?: boolean;
  } & Partial<Record<SettingName, string>>) => Promise<void>;
}) {
  const [kind, setKind] = useState<CredentialKind>("openai");
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const [settings, setSettings] = useState<Partial<Record<SettingName, string>>>({});
  const [shared, setShared] = useState(false);
  const info = KINDS[kind];

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const given = Object.fromEntries(
      info.settings.filter((s) => settings[s.name]).map((s) => [s.name, settings[s.name]]),
    ) as Partial<Record<SettingName, string>>;
    await props.onCreate({ name, kind, value: value || null, shared, ...given });
    setName("");
    setValue("");
    setSettings({});
  };

  return (
    <form className="card stack" onSubmit={submit} aria-label="New credential">
      <strong>New credential</strong>
      <label className="field">
        Kind
        <select value={kind} onChange={(e) => setKind(e.target.value as CredentialKind)}>
          {KIND_NAMES.map((k) => (
            <option key={k} value={k}>
              {KINDS[k].label}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      {info.settings.map((s) => (
        <label key={s.name} className="field">
          {s.label}
          <input
            value={settings[s.name] ?? ""}
            onChange={(e) => setSettings({ ...settings, [s.name]: e.target.value })}
            required={s.required}
          />
        </label>
      ))}
      {info.value ? (
        <label className="field">
          {info.value}
          <input
            type="password"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            required={info.valueRequired}
            autoComplete="off"
          />
        </label>
      ) : null}
      {props.isAdmin ? (
        <label className="row small">
          <input type="checkbox" checked={shared} onChange={(e) => setShared(e.target.checked)} /> Shared with
          everyone
        </label>
      ) : null}
      <div>
        <button type="submit" className="primary">
          Add credential
        </button>
      </div>
    </form>
  );
}
