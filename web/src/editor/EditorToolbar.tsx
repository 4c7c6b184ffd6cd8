import { Link } from "react-router";
import type { Workflow } from "../api/types";

interface Props {
  workflow: Workflow;
  readOnly: boolean;
  dirty: boolean;
  notice: string | null;
  saving: boolean;
  canUndo: boolean;
  canRedo: boolean;
  onUndo: () => void;
  onRedo: () => void;
  onCheck: () => void;
  onSave: () => void;
  onExport: () => void;
  /** Set while the run shown can still be cancelled. */
  onCancelRun: (() => void) | null;
  onRun: () => void;
}

/** The editor's top bar: the workflow's name and state, editing, saving and running. */
export function EditorToolbar(props: Props) {
  const { workflow, readOnly, dirty, notice, saving } = props;
  return (
    <div className="editor-toolbar" role="toolbar" aria-label="Workflow">
      <Link to="/workflows" className="small">
        ← Workflows
      </Link>
      <span className="title">{workflow.name}</span>
      {readOnly ? <span className="badge plain">read-only</span> : null}
      {dirty ? (
        <span className="unsaved" role="status">
          ● Unsaved changes
        </span>
      ) : notice ? (
        <span className="saved-note" role="status">
          {notice}
        </span>
      ) : null}
      <span className="spacer" />
      {!readOnly ? (
        <>
          <button className="small" onClick={props.onUndo} disabled={!props.canUndo} title="Undo (Ctrl+Z)">
            Undo
          </button>
          <button className="small" onClick={props.onRedo} disabled={!props.canRedo} title="Redo (Ctrl+Shift+Z)">
            Redo
          </button>
          <button className="small" onClick={props.onCheck}>
            Check
          </button>
          <button className="small" onClick={props.onSave} disabled={saving || !dirty} title="Save (Ctrl+S)">
            {saving ? "Saving…" : "Save"}
          </button>
        </>
      ) : null}
      <button className="small" onClick={props.onExport}>
        Export
      </button>
      <Link className="button small" to={`/workflows/${workflow.id}/executions`}>
        History
      </Link>
      {!readOnly ? (
        <Link className="button small" to={`/workflows/${workflow.id}/triggers`}>
          Webhooks &amp; schedules
        </Link>
      ) : null}
      {props.onCancelRun ? (
        <button className="small danger" onClick={props.onCancelRun}>
          Cancel run
        </button>
      ) : null}
      <button className="primary" onClick={props.onRun} disabled={saving}>
        ▶ Run
      </button>
    </div>
  );
}
