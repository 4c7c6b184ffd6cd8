import { useState, type FormEvent } from "react";
import { apiTokens } from "../api/resources";
import type { ApiTokenCreate } from "../api/types";
import { useLoad } from "../api/useLoad";
import { EmptyState } from "../components/EmptyState";
import { ErrorBanner } from "../components/ErrorBanner";
import { formatTime } from "../components/format";
import { SecretField } from "../components/SecretField";

const SCOPES: [string, string][] = [
  ["read", "read everything you can see"],
  ["run:start", "start and rerun executions"],
  ["run:cancel", "cancel executions"],
  ["run:approve", "decide approvals"],
  ["write:workflows", "change workflows and agent templates"],
  ["write:webhooks", "change webhooks"],
  ["write:schedules", "change schedules"],
  ["write:credentials", "change credentials"],
];

/** Personal API tokens: shown once when created, revocable at once. */
export function TokensSection() {
  const list = useLoad(() => apiTokens.list(), []);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [days, setDays] = useState("");
  const [scopes, setScopes] = useState<string[]>(["read"]);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const body: ApiTokenCreate = { name, scopes, expires_in_days: days ? Number(days) : null };
      const made = await apiTokens.create(body);
      setCreated(made.token);
      setName("");
    } catch (err) {
      setError(err);
    }
    await list.reload();
  };

  const revoke = async (id: string) => {
    setError(null);
    try {
      await apiTokens.revoke(id);
    } catch (err) {
      setError(err);
    }
    await list.reload();
  };

  return (
    <section className="stack" aria-labelledby="tokens-title">
      <h2 id="tokens-title" style={{ margin: 0 }}>
        API tokens
      </h2>
      <p className="muted small" style={{ margin: 0 }}>
        For programs: send a token as <code>Authorization: Bearer &lt;token&gt;</code>. It can do only what its scopes
        allow.
      </p>
      <ErrorBanner error={error ?? list.error} />
      {created ? (
        <div className="card stack">
          <SecretField label="Your new token (shown only now)" value={created} testId="new-token" />
          <button className="small" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      ) : null}
      {list.data && list.data.length === 0 ? <EmptyState title="No API tokens yet" /> : null}
      {list.data && list.data.length > 0 ? (
        <table className="table" aria-label="API tokens">
          <thead>
            <tr>
              <th>Name</th>
              <th>Token</th>
              <th>Scopes</th>
              <th>Expires</th>
              <th>Last used</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.data.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>
                  <code>{t.prefix}…</code>
                </td>
                <td className="small">{t.scopes.join(", ")}</td>
                <td className="small">{formatTime(t.expires_at)}</td>
                <td className="small">{t.last_used_at ? formatTime(t.last_used_at) : "never"}</td>
                <td>
                  <button className="small danger" onClick={() => revoke(t.id)}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <form className="card stack" onSubmit={create} aria-label="New API token">
        <strong>New API token</strong>
        <label className="field">
          Token name
          <input value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map(([scope, meaning]) => (
            <label key={scope} className="row small">
              <input
                type="checkbox"
                checked={scopes.includes(scope)}
                onChange={(e) =>
                  setScopes(e.target.checked ? [...scopes, scope] : scopes.filter((s) => s !== scope))
                }
              />
              <code>{scope}</code> {meaning}
            </label>
          ))}
        </fieldset>
        <label className="field">
          Expires in (days)
          <input type="number" min={1} value={days} onChange={(e) => setDays(e.target.value)} placeholder="90" />
        </label>
        <div>
          <button type="submit" className="primary" disabled={scopes.length === 0}>
            Create token
          </button>
        </div>
      </form>
    </section>
  );
}
