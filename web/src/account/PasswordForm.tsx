import { useState, type FormEvent } from "react";
import { accounts } from "../api/resources";
import { setToken } from "../api/session";
import { ErrorBanner } from "../components/ErrorBanner";

const MIN_LENGTH = 8; // the server's password rule (the same as at sign-up)

/** Change your password. Other browsers are signed out; this one carries on with the new token. */
export function PasswordForm() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setDone(false);
    if (next.length < MIN_LENGTH) {
      setError(new Error(`The new password must be at least ${MIN_LENGTH} characters.`));
      return;
    }
    if (next !== confirm) {
      setError(new Error("The new password and its confirmation differ."));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await accounts.changePassword({ current_password: current, new_password: next });
      setToken(answer.access_token);
      setCurrent("");
      setNext("");
      setConfirm("");
      setDone(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="stack" onSubmit={submit} aria-labelledby="password-title">
      <h2 id="password-title" style={{ margin: 0 }}>
        Password
      </h2>
      <p className="muted small" style={{ margin: 0 }}>
        Changing it signs you out everywhere else. API tokens keep working.
      </p>
      <ErrorBanner error={error} />
      {done ? (
        <div className="banner" role="status">
          Password changed. Other sessions have been signed out.
        </div>
      ) : null}
      <label>
        Current password
        <input type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required />
      </label>
      <label>
        New password
        <input type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} required />
      </label>
      <label>
        Confirm new password
        <input type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} required />
      </label>
      <div>
        <button type="submit" className="primary" disabled={busy}>
          Change password
        </button>
      </div>
    </form>
  );
}
