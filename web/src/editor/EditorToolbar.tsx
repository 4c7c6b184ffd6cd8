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
  /** Lays the graph out left to right (an ordinary, undoable edit). */
  onTidyUp: () => void;
  onSave: () => void;
  onExport: () => void;
  /** Saves if needed, then publishes the draft. */
  onPublish: () => void;
  historyOpen: boolean;
  onHistory: () => void;
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
      <h1 className="title">{workflow.name}</h1>
      {readOnly ? <span className="badge plain">read-only</span> : null}
      <VersionBadge workflow={workflow} />
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
          <button className="small" onClick={props.onTidyUp} title="Lay the nodes out left to right">
            Tidy up
          </button>
          <button className="small" onClick={props.onCheck}>
            Check
          </button>
          <button className="small" onClick={props.onSave} disabled={saving || !dirty} title="Save (Ctrl+S)">
            {saving ? "Saving…" : "Save"}
          </button>
          <button
            className="small"
            onClick={props.onPublish}
            disabled={saving || (!dirty && workflow.published_version === workflow.draft_version)}
            title="Make the draft the version webhooks and schedules run"
          >
            Publish
          </button>
        </>
      ) : null}
      <button className="small" onClick={props.onExport}>
        Export
      </button>
      <button className="small" onClick={props.onHistory} aria-pressed={props.historyOpen}>
        History
      </button>
      <Link className="button small" to={`/workflows/${workflow.id}/executions`}>
        Runs
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

/** Which version the draft is and which one triggers run. */
function VersionBadge({ workflow }: { workflow: Workflow }) {
  const { draft_version: draft, published_version: published } = workflow;
  if (draft == null) return null;
  const text =
    published == null
      ? `v${draft} · not published`
      : published === draft
        ? `v${draft} · published`
        : `v${draft} draft · v${published} published`;
  return (
    <span className="badge plain version-badge" data-testid="version-badge">
      {text}
    </span>
  );
}
