import { versions as versionsApi } from "../api/resources";
import type { VersionDiff, Workflow } from "../api/types";
import { useLoad } from "../api/useLoad";
import { ErrorBanner } from "../components/ErrorBanner";
import { formatTime } from "../components/format";
import { diffSummary, shownValue } from "./versionDiff";

interface Props {
  workflow: Workflow;
  readOnly: boolean;
  /** The version compared with the draft on the canvas, if any. */
  selected: number | null;
  diff: VersionDiff | null;
  busy: boolean;
  error: unknown;
  onSelect: (number: number | null) => void;
  onRestore: (number: number) => void;
  onPublish: (number: number) => void;
  onClose: () => void;
}

/** The editor's History panel: every saved version; one selected is compared with the draft. */
export function HistoryPanel(props: Props) {
  const { workflow, readOnly, selected, diff } = props;
  // Reloaded whenever a save, a publish or a restore moves the pointers.
  const listed = useLoad(
    () => versionsApi.list(workflow.id),
    [workflow.id, workflow.draft_version, workflow.published_version],
  );
  const items = listed.data?.items ?? [];
  return (
    <aside className="side history" aria-label="History">
      <div className="row">
        <h2>History</h2>
        <span className="spacer" />
        <button className="small" onClick={props.onClose}>
          Close
        </button>
      </div>
      <p className="muted small" style={{ margin: 0 }}>
        Every save is a version. Webhooks and schedules run the published one; the editor runs the draft. Select a
        version to see what changed since, drawn on the canvas.
      </p>
      <ErrorBanner error={listed.error ?? props.error} />
      <ol className="version-list">
        {items.map((v) => (
          <li key={v.number}>
            <button
              className={v.number === selected ? "version selected" : "version"}
              aria-pressed={v.number === selected}
              onClick={() => props.onSelect(v.number === selected ? null : v.number)}
            >
              <span className="number">v{v.number}</span>
              {v.is_draft ? <span className="badge plain">draft</span> : null}
              {v.is_published ? <span className="badge s-completed">published</span> : null}
              <span className="muted small when">{formatTime(v.created_at)}</span>
              {v.message ? <span className="message small">{v.message}</span> : null}
            </button>
          </li>
        ))}
      </ol>
      {selected !== null && diff ? (
        <section className="version-diff" aria-label="Changes">
          <h3>
            Changes from v{diff.from_version} to v{diff.to_version}
            {diff.to_version === workflow.draft_version ? " (draft)" : ""}
          </h3>
          <ul className="diff-counts small">
            {diffSummary(diff).map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
          <p className="legend small">
            <span className="diff-key diff-added">added</span> <span className="diff-key diff-removed">removed</span>{" "}
            <span className="diff-key diff-changed">changed</span>
          </p>
          {diff.nodes.changed.map((change) => (
            <div key={change.id} className="field-changes" data-testid={`changes-${change.id}`}>
              <strong>{change.id}</strong> <span className="muted small">{change.type}</span>
              <dl>
                {change.fields.map((f) => (
                  <div key={f.field}>
                    <dt>{f.field}</dt>
                    <dd>
                      <del>{shownValue(f.old)}</del>
                      <ins>{shownValue(f.new)}</ins>
                    </dd>
                  </div>
                ))}
              </dl>
            </div>
          ))}
          {!readOnly ? (
            <div className="row">
              <button disabled={props.busy || selected === workflow.draft_version} onClick={() => props.onRestore(selected)}>
                Restore v{selected}
              </button>
              <button disabled={props.busy || selected === workflow.published_version} onClick={() => props.onPublish(selected)}>
                Publish v{selected}
              </button>
            </div>
          ) : null}
        </section>
      ) : null}
    </aside>
  );
}
