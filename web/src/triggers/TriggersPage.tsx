import { Fragment, useState } from "react";
import { Link, useParams } from "react-router";
import { isRecord } from "../api/errors";
import { schedules, webhooks, workflows } from "../api/resources";
import type { Schedule, Webhook } from "../api/types";
import { useLoad } from "../api/useLoad";
import { CopyButton } from "../components/CopyButton";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { Dialog } from "../components/Dialog";
import { SecretField } from "../components/SecretField";
import { EmptyState } from "../components/EmptyState";
import { ErrorBanner } from "../components/ErrorBanner";
import { formatTime } from "../components/format";
import { curlLine, exampleBodyOf } from "./curl";
import { exampleInput } from "./inputExample";
import { ScheduleForm, type ScheduleValues } from "./ScheduleForm";
import { SigningControls } from "./SigningControls";
import { SigningSecretDialog } from "./SigningSecretDialog";

interface Revealed {
  title: string;
  key: string;
  url: string;
  /** The webhook's example input as JSON: a body its workflow accepts. */
  body: string;
}

/** A workflow's webhooks and cron schedules. */
export function TriggersPage() {
  const { workflowId = "" } = useParams();
  const workflow = useLoad(() => workflows.get(workflowId), [workflowId]);
  const hooks = useLoad(() => webhooks.list(workflowId).then((page) => page.items), [workflowId]);
  const plans = useLoad(() => schedules.list(workflowId).then((page) => page.items), [workflowId]);
  const [actionError, setActionError] = useState<unknown>(null);
  const [revealed, setRevealed] = useState<Revealed | null>(null);
  const [confirm, setConfirm] = useState<{ title: string; text: string; run: () => Promise<unknown> } | null>(null);
  const [scheduleForm, setScheduleForm] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const [signing, setSigning] = useState<Webhook | null>(null);
  const error = actionError ?? workflow.error ?? hooks.error ?? plans.error;

  const act = async (fn: () => Promise<unknown>, reload: () => Promise<void>) => {
    setActionError(null);
    try {
      await fn();
    } catch (err) {
      setActionError(err);
    }
    await reload();
  };

  const createHook = async () => {
    setActionError(null);
    try {
      const created = await webhooks.create(workflowId, null);
      setRevealed({ title: "Webhook created", key: created.api_key, url: created.url, body: exampleBodyOf(created) });
      await hooks.reload();
    } catch (err) {
      setActionError(err);
    }
  };

  const rotate = async (hook: Webhook) => {
    const rotated = await webhooks.rotate(hook.id);
    setRevealed({ title: "New key issued", key: rotated.api_key, url: rotated.url, body: exampleBodyOf(rotated) });
  };

  return (
    <main className="page">
      <div className="page-narrow stack">
        <div>
          <Link to={`/workflows/${workflowId}`} className="small">
            ← {workflow.data?.name ?? "Workflow"}
          </Link>
          <h1>Webhooks &amp; schedules</h1>
        </div>
        <ErrorBanner error={error} />

        <section className="stack" aria-labelledby="webhooks-title">
          <div className="row">
            <h2 id="webhooks-title" style={{ margin: 0, flex: 1 }}>
              Webhooks
            </h2>
            <button className="primary" onClick={createHook}>
              New webhook
            </button>
          </div>
          <p className="muted" style={{ margin: 0 }}>
            Outside systems start this workflow by POSTing JSON to a webhook's URL with its API key. The key is shown
            once; relayflow keeps only its hash.
          </p>
          {hooks.data === undefined ? (
            hooks.error ? null : <p className="muted">Loading…</p>
          ) : hooks.data.length === 0 ? (
            <EmptyState title="No webhooks" actions={<button onClick={createHook}>Create a webhook</button>}>
              Create one to get a URL and a key.
            </EmptyState>
          ) : (
            <table className="table" aria-label="Webhooks">
              <thead>
                <tr>
                  <th>URL</th>
                  <th>Key</th>
                  <th>Enabled</th>
                  <th>Signatures</th>
                  <th>Created</th>
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {hooks.data.map((hook) => (
                  <tr key={hook.id}>
                    <td>
                      {hook.name ? <div>{hook.name}</div> : null}
                      <code className="small">{hook.url}</code>
                    </td>
                    <td>
                      <code className="small">{hook.key_prefix ? `${hook.key_prefix}…` : "—"}</code>
                    </td>
                    <td>
                      <label className="check small">
                        <input
                          type="checkbox"
                          checked={hook.enabled}
                          onChange={(e) => act(() => webhooks.update(hook.id, { enabled: e.target.checked }), hooks.reload)}
                        />
                        {hook.enabled ? "on" : "off"}
                      </label>
                    </td>
                    <td>
                      <SigningControls
                        webhook={hook}
                        onIssue={() => setSigning(hook)}
                        onRequireChange={(required) => {
                          // Shown at once; the reload afterwards puts back the server's value if it refused.
                          hooks.update((list) =>
                            list.map((h) => (h.id === hook.id ? { ...h, require_signature: required } : h)),
                          );
                          void act(() => webhooks.update(hook.id, { require_signature: required }), hooks.reload);
                        }}
                        onRemove={() =>
                          setConfirm({
                            title: "Remove signing secret?",
                            text: "Deliveries will be checked by their API key only; signatures are no longer required or checked.",
                            run: () => webhooks.removeSigningSecret(hook.id),
                          })
                        }
                      />
                    </td>
                    <td className="small muted" style={{ whiteSpace: "nowrap" }}>
                      {formatTime(hook.created_at)}
                    </td>
                    <td>
                      <div className="row" style={{ justifyContent: "flex-end", flexWrap: "nowrap" }}>
                        <CopyButton text={curlLine(hook.url, null, exampleBodyOf(hook))} label="Copy curl" />
                        <button
                          className="small"
                          onClick={() =>
                            setConfirm({
                              title: "Rotate key?",
                              text: "A new key replaces the current one at once; senders using the old key will get 401.",
                              run: () => rotate(hook),
                            })
                          }
                        >
                          Rotate key
                        </button>
                        <button
                          className="small danger"
                          onClick={() =>
                            setConfirm({
                              title: "Delete webhook?",
                              text: "Requests to this URL will get 404.",
                              run: () => webhooks.remove(hook.id).then(hooks.reload),
                            })
                          }
                        >
                          Delete
                        </button>
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>

        <section className="stack" aria-labelledby="schedules-title">
          <div className="row">
            <h2 id="schedules-title" style={{ margin: 0, flex: 1 }}>
              Schedules
            </h2>
            <button onClick={() => setScheduleForm(true)}>New schedule</button>
          </div>
          {plans.data === undefined ? (
            plans.error ? null : <p className="muted">Loading…</p>
          ) : plans.data.length === 0 ? (
            <EmptyState title="No schedules" actions={<button onClick={() => setScheduleForm(true)}>Add a cron schedule</button>}>
              Run this workflow on a cron schedule, with a fixed input.
            </EmptyState>
          ) : (
            <table className="table" aria-label="Schedules">
              <thead>
                <tr>
                  <th>Schedule</th>
                  <th>Next runs</th>
                  <th>Last run</th>
                  <th>Enabled</th>
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {plans.data.map((plan) => (
                  <Fragment key={plan.id}>
                    <tr data-schedule={plan.id}>
                      <td>
                        {plan.name ? <div>{plan.name}</div> : null}
                        <code>{plan.cron}</code>
                        <div className="small muted" data-testid="schedule-description">
                          {plan.description}
                        </div>
                      </td>
                      <td className="small">
                        {nextRuns(plan).map((t) => (
                          <div key={t}>{formatTime(t)}</div>
                        ))}
                      </td>
                      <td className="small muted">{formatTime(plan.last_run_at)}</td>
                      <td>
                        <label className="check small">
                          <input
                            type="checkbox"
                            checked={Boolean(plan.enabled)}
                            onChange={(e) => act(() => schedules.setEnabled(workflowId, plan.id, e.target.checked), plans.reload)}
                          />
                          {plan.enabled ? "on" : "off"}
                        </label>
                      </td>
                      <td>
                        <div className="row" style={{ justifyContent: "flex-end", flexWrap: "nowrap" }}>
                          <button
                            className="small"
                            aria-expanded={editing === plan.id}
                            aria-label={`Edit schedule ${plan.name ?? plan.cron}`}
                            onClick={() => setEditing(editing === plan.id ? null : plan.id)}
                          >
                            Edit
                          </button>
                          <button
                            className="small danger"
                            aria-label={`Delete schedule ${plan.name ?? plan.cron}`}
                            onClick={() =>
                              setConfirm({
                                title: "Delete schedule?",
                                text: `${plan.cron} will no longer start runs.`,
                                run: () => schedules.remove(workflowId, plan.id).then(plans.reload),
                              })
                            }
                          >
                            Delete
                          </button>
                        </div>
                      </td>
                    </tr>
                    {editing === plan.id ? (
                      <tr>
                        <td colSpan={5}>
                          <ScheduleForm
                            initial={plan}
                            submitLabel="Save"
                            onCancel={() => setEditing(null)}
                            onSubmit={async (values) => {
                              const saved = await schedules.update(workflowId, plan.id, values);
                              plans.update((list) => list.map((p) => (p.id === saved.id ? saved : p)));
                              setEditing(null);
                            }}
                          />
                        </td>
                      </tr>
                    ) : null}
                  </Fragment>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>

      {revealed ? (
        <Dialog title={revealed.title} onClose={() => setRevealed(null)} wide footer={<button className="primary" onClick={() => setRevealed(null)}>Done</button>}>
          <div className="banner info" style={{ margin: 0 }}>
            Copy the key now: it is shown only once.
          </div>
          <SecretField label="API key" value={revealed.key} testId="webhook-key" />
          <label className="field">
            Try it
            <div className="secret" style={{ alignItems: "flex-start" }}>
              <pre className="mono" data-testid="webhook-curl" style={{ flex: 1 }}>
                {curlLine(revealed.url, revealed.key, revealed.body)}
              </pre>
              <CopyButton text={curlLine(revealed.url, revealed.key, revealed.body)} />
            </div>
          </label>
        </Dialog>
      ) : null}
      {signing ? (
        <SigningSecretDialog
          webhook={signing}
          issue={async (requireSignature) => {
            const issued = await webhooks.issueSigningSecret(signing.id, requireSignature);
            void hooks.reload();
            return issued;
          }}
          onClose={() => setSigning(null)}
        />
      ) : null}
      {confirm ? (
        <ConfirmDialog
          title={confirm.title}
          confirmLabel="Confirm"
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            await confirm.run();
            setConfirm(null);
            await hooks.reload();
          }}
        >
          <p>{confirm.text}</p>
        </ConfirmDialog>
      ) : null}
      {scheduleForm ? (
        <Dialog title="New schedule" onClose={() => setScheduleForm(false)}>
          <ScheduleForm
            initial={newSchedule(workflow.data?.nodes)}
            submitLabel="Create"
            onCancel={() => setScheduleForm(false)}
            onSubmit={async (values) => {
              await schedules.create(workflowId, { ...values, enabled: true });
              setScheduleForm(false);
              await plans.reload();
            }}
          />
        </Dialog>
      ) : null}
    </main>
  );
}

function nextRuns(plan: Schedule): string[] {
  if (plan.next_runs.length) return plan.next_runs.slice(0, 3);
  return plan.next_run_at ? [plan.next_run_at] : [];
}

/** A new schedule's fields: weekday mornings here, with an input the workflow accepts. */
function newSchedule(nodes: unknown[] | undefined): ScheduleValues {
  const input = nodes?.find((n) => isRecord(n) && n.type === "input");
  const schema = isRecord(input) && isRecord(input.data) ? input.data.schema : undefined;
  return {
    name: null,
    cron: "0 9 * * 1-5",
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
    input: exampleInput(schema),
    missed_policy: "skip",
  };
}
