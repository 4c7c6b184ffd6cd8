import type { ReactNode } from "react";

export function EmptyState({ title, children, actions }: { title: string; children?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="empty">
      <strong>{title}</strong>
      {children}
      {actions ? <div className="row">{actions}</div> : null}
    </div>
  );
}
