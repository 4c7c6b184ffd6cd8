import { useAuth } from "../auth/AuthContext";
import { formatTime } from "../components/format";
import { CredentialsSection } from "./CredentialsSection";
import { PasswordForm } from "./PasswordForm";
import { TokensSection } from "./TokensSection";

/** Your account: profile, password, credentials and API tokens. */
export function AccountPage() {
  const { user } = useAuth();
  return (
    <main className="page">
      <div className="page-narrow stack">
        <h1>Account</h1>
        <dl className="profile" aria-label="Profile">
          {user?.name ? (
            <>
              <dt>Name</dt>
              <dd>{user.name}</dd>
            </>
          ) : null}
          <dt>Email</dt>
          <dd>{user?.email}</dd>
          <dt>Role</dt>
          <dd>{user?.role}</dd>
          <dt>Member since</dt>
          <dd>{user?.created_at ? formatTime(user.created_at) : "—"}</dd>
        </dl>
        <PasswordForm />
        <CredentialsSection isAdmin={user?.role === "admin"} />
        <TokensSection />
      </div>
    </main>
  );
}
