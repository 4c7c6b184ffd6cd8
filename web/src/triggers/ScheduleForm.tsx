// The fields of a cron schedule, for a new one (in a dialog) and for editing one in place.
import { useId, useState, type FormEvent } from "react";
import { errorMessage } from "../api/errors";
import type { ScheduleCreate } from "../api/types";
import { ErrorBanner } from "../components/ErrorBanner";

type MissedPolicy = NonNullable<ScheduleCreate["missed_policy"]>;

export interface ScheduleValues {
  name: string | null;
  cron: string;
  timezone: string;
  input: unknown;
  missed_policy: MissedPolicy;
}

interface Props {
  initial: ScheduleValues;
  submitLabel: string;
  onSubmit: (values: ScheduleValues) => Promise<void>;
  onCancel: () => void;
}

export function ScheduleForm({ initial, submitLabel, onSubmit, onCancel }: Props) {
  const id = useId();
  const [name, setName] = useState(initial.name ?? "");
  const [cron, setCron] = useState(initial.cron);
  const [timezone, setTimezone] = useState(initial.timezone);
  const [input, setInput] = useState(() => (initial.input === null || initial.input === undefined ? "" : JSON.stringify(initial.input, null, 2)));
  const [missed, setMissed] = useState<MissedPolicy>(initial.missed_policy);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let parsed: unknown;
    try {
      parsed = input.trim() ? JSON.parse(input) : null;
    } catch (err) {
      setError(new Error(`Input: not valid JSON (${errorMessage(err)}).`));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await onSubmit({ name: name.trim() || null, cron, timezone, input: parsed, missed_policy: missed });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="stack schedule-form" onSubmit={submit} aria-label={submitLabel === "Create" ? "New schedule" : "Edit schedule"}>
      <ErrorBanner error={error} />
      <div className="row" style={{ alignItems: "flex-start" }}>
        <div style={{ flex: 2, display: "flex", flexDirection: "column", gap: 4 }}>
          <label className="field">
            Cron expression
            <input className="mono" required value={cron} onChange={(e) => setCron(e.target.value)} aria-describedby={`${id}-cron`} />
          </label>
          <span className="muted small" id={`${id}-cron`}>
            minute hour day-of-month month day-of-week, e.g. <code>0 9 * * 1-5</code> (09:00 on weekdays)
          </span>
        </div>
        <label className="field" style={{ flex: 1 }}>
          Time zone
          <input required value={timezone} onChange={(e) => setTimezone(e.target.value)} />
        </label>
      </div>
      <label className="field">
        Name (optional)
        <input value={name} maxLength={255} onChange={(e) => setName(e.target.value)} />
      </label>
      <label className="field">
        Input (JSON)
        <textarea className="mono" rows={4} value={input} onChange={(e) => setInput(e.target.value)} />
      </label>
      <label className="field">
        After downtime
        <select value={missed} onChange={(e) => setMissed(e.target.value === "run_once" ? "run_once" : "skip")}>
          <option value="skip">skip missed runs</option>
          <option value="run_once">run once for the missed ones</option>
        </select>
      </label>
      <div className="row" style={{ justifyContent: "flex-end" }}>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button className="primary" type="submit" disabled={busy}>
          {busy ? "Saving…" : submitLabel}
        </button>
      </div>
    </form>
  );
}
