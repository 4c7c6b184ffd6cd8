import { useAuth } from "../auth/AuthContext";
import { CredentialsSection } from "./CredentialsSection";
import { TokensSection } from "./TokensSection";

/** Your account: profile, credentials and API tokens. */
export function AccountPage() {
  const { user } = useAuth();
  return (
    <main className="page">
      <div className="page-narrow stack">
        <h1>Account</h1>
        <p className="muted" style={{ margin: 0 }}>
          {user?.name ? `${user.name} · ` : ""}
          {user?.email}
          {user?.role === "admin" ? " · admin" : ""}
        </p>
        <CredentialsSection isAdmin={user?.role === "admin"} />
        <TokensSection />
      </div>
    </main>
  );
}
