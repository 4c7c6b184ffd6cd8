import { ApiError, errorMessage } from "../api/errors";

/** Shows what went wrong, with each field or node the server named. */
export function ErrorBanner({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const problems = error instanceof ApiError ? error.problems : [];
  const message = errorMessage(error);
  return (
    <div className="banner error" role="alert">
      {title ? <strong>{title}: </strong> : null}
      {message}
      {problems.length > 1 || (problems.length === 1 && !message.includes(problems[0].message)) ? (
        <ul>
          {problems.map((p, i) => (
            <li key={i}>
              {p.node_id || p.field ? (
                <span className="mono">{[p.node_id, p.field].filter(Boolean).join(" · ")}: </span>
              ) : null}
              {p.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
