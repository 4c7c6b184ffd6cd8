import { useState, type FormEvent } from "react";
import { Link, Navigate, useLocation, useNavigate } from "react-router";
import { isRecord } from "../api/errors";
import { ErrorBanner } from "../components/ErrorBanner";
import { useAuth } from "./AuthContext";

function AuthLayout({ title, subtitle, children }: { title: string; subtitle: string; children: React.ReactNode }) {
  return (
    <main className="auth-page">
      <div className="card auth-card">
        <div className="brand" style={{ marginBottom: 16 }}>
          <span className="brand-mark" aria-hidden /> relayflow
        </div>
        <h1>{title}</h1>
        <p className="muted" style={{ margin: 0 }}>
          {subtitle}
        </p>
        {children}
      </div>
    </main>
  );
}

export function SignInPage() {
  const { user, signIn, expired } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const from: unknown = isRecord(location.state) ? location.state.from : null;
  const next = typeof from === "string" ? from : "/workflows";
  if (user) return <Navigate to={next} replace />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(email, password);
      navigate(next, { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <AuthLayout title="Sign in" subtitle="Build and run multi-agent workflows.">
      <form onSubmit={submit}>
        {expired && !error ? <div className="banner info">Your session expired. Please sign in again.</div> : null}
        <ErrorBanner error={error} />
        <label className="field">
          Email
          <input type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="field">
          Password
          <input
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <button className="primary" type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p className="muted small" style={{ margin: 0 }}>
          No account yet? <Link to="/signup">Create one</Link>. The first account becomes the administrator.
        </p>
      </form>
    </AuthLayout>
  );
}

export function SignUpPage() {
  const { user, signUp } = useAuth();
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (user) return <Navigate to="/workflows" replace />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signUp(email, password, name);
      navigate("/workflows", { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <AuthLayout title="Create your account" subtitle="The first account on an installation becomes its administrator.">
      <form onSubmit={submit}>
        <ErrorBanner error={error} />
        <label className="field">
          Name <span className="hint">optional</span>
          <input autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="field">
          Email
          <input type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="field">
          Password <span className="hint">at least 8 characters</span>
          <input
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <button className="primary" type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create account"}
        </button>
        <p className="muted small" style={{ margin: 0 }}>
          Already registered? <Link to="/signin">Sign in</Link>.
        </p>
      </form>
    </AuthLayout>
  );
}
