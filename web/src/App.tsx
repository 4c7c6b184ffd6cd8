import { createBrowserRouter, Navigate, NavLink, Outlet, RouterProvider, useLocation } from "react-router";
import { AccountPage } from "./account/AccountPage";
import { AuthProvider, useAuth } from "./auth/AuthContext";
import { SignInPage, SignUpPage } from "./auth/AuthPages";
import { EditorPage } from "./editor/EditorPage";
import { ExecutionPage } from "./runs/ExecutionPage";
import { ExecutionsPage } from "./runs/ExecutionsPage";
import { TemplatesPage } from "./templates/TemplatesPage";
import { TriggersPage } from "./triggers/TriggersPage";
import { WorkflowsPage } from "./workflows/WorkflowsPage";

function Shell() {
  const { user, loading, signOut } = useAuth();
  const location = useLocation();
  if (loading) return <p className="page muted">Loading…</p>;
  if (!user) return <Navigate to="/signin" replace state={{ from: location.pathname + location.search }} />;
  return (
    <div className="shell">
      <header className="topbar">
        <NavLink to="/workflows" className="brand">
          <span className="brand-mark" aria-hidden /> relayflow
        </NavLink>
        <nav className="topnav" aria-label="Main">
          <NavLink to="/workflows">Workflows</NavLink>
          <NavLink to="/executions">Executions</NavLink>
          <NavLink to="/templates">Agent templates</NavLink>
          <NavLink to="/account">Account</NavLink>
          <a href="/docs">API docs</a>
        </nav>
        <span className="spacer" />
        <span className="user-chip">
          {user.name || user.email}
          {user.role === "admin" ? " · admin" : ""}
        </span>
        <button className="small" onClick={signOut}>
          Sign out
        </button>
      </header>
      <Outlet />
    </div>
  );
}

function NotFound() {
  return (
    <main className="page page-narrow">
      <h1>Page not found</h1>
      <p>
        <NavLink to="/workflows">Back to your workflows</NavLink>
      </p>
    </main>
  );
}

export const routes = [
  { path: "/signin", element: <SignInPage /> },
  { path: "/signup", element: <SignUpPage /> },
  {
    element: <Shell />,
    children: [
      { path: "/", element: <Navigate to="/workflows" replace /> },
      { path: "/workflows", element: <WorkflowsPage /> },
      { path: "/workflows/:workflowId", element: <EditorPage /> },
      { path: "/workflows/:workflowId/executions", element: <ExecutionsPage /> },
      { path: "/workflows/:workflowId/triggers", element: <TriggersPage /> },
      { path: "/executions", element: <ExecutionsPage /> },
      { path: "/executions/:executionId", element: <ExecutionPage /> },
      { path: "/templates", element: <TemplatesPage /> },
      { path: "/account", element: <AccountPage /> },
      { path: "*", element: <NotFound /> },
    ],
  },
];

const router = createBrowserRouter(routes);

export function App() {
  return (
    <AuthProvider>
      <RouterProvider router={router} />
    </AuthProvider>
  );
}
