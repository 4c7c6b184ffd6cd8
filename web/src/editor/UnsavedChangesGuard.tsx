import { useEffect } from "react";
import { useBlocker } from "react-router";
import { Dialog } from "../components/Dialog";

interface Props {
  dirty: boolean;
  /** Resolves to whether the workflow was saved. */
  save: () => Promise<boolean>;
}

/**
 * Asks before unsaved changes are lost: leaving the editor for another page asks to stay,
 * discard or save and leave; closing or reloading the tab gets the browser's own warning.
 */
export function UnsavedChangesGuard({ dirty, save }: Props) {
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) => dirty && currentLocation.pathname !== nextLocation.pathname,
  );
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  if (blocker.state !== "blocked") return null;
  return (
    <Dialog
      title="Unsaved changes"
      onClose={() => blocker.reset()}
      footer={
        <>
          <button onClick={() => blocker.reset()}>Stay</button>
          <button className="danger" onClick={() => blocker.proceed()}>
            Discard changes
          </button>
          <button
            className="primary"
            onClick={async () => {
              if (await save()) blocker.proceed();
              else blocker.reset();
            }}
          >
            Save and leave
          </button>
        </>
      }
    >
      <p>This workflow has changes that are not saved yet.</p>
    </Dialog>
  );
}
