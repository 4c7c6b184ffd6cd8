import { useState, type ReactNode } from "react";
import { errorMessage } from "../api/errors";
import { Dialog } from "./Dialog";
import { ErrorBanner } from "./ErrorBanner";

/** Asks before an action that cannot be undone; shows the action's error and stays open if it fails. */
export function ConfirmDialog(props: {
  title: string;
  confirmLabel: string;
  children: ReactNode;
  onClose: () => void;
  onConfirm: () => Promise<void>;
}) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog
      title={props.title}
      onClose={props.onClose}
      footer={
        <>
          <button onClick={props.onClose}>Cancel</button>
          <button
            className="primary"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                await props.onConfirm();
              } catch (err) {
                setError(errorMessage(err));
                setBusy(false);
              }
            }}
          >
            {props.confirmLabel}
          </button>
        </>
      }
    >
      {error ? <ErrorBanner error={error} /> : null}
      {props.children}
    </Dialog>
  );
}
