import { useMemo, useState, type FormEvent } from "react";
import { errorMessage } from "../api/errors";
import { Dialog } from "../components/Dialog";
import { ErrorBanner } from "../components/ErrorBanner";
import { collectInput, initialValues, SchemaForm, schemaFields } from "./SchemaForm";

interface Props {
  schema: unknown;
  onClose: () => void;
  onRun: (input: unknown) => Promise<void>;
}

/** Asks for an execution's input: a form from the input node's schema, or raw JSON. */
export function RunDialog({ schema, onClose, onRun }: Props) {
  const fields = useMemo(() => schemaFields(schema), [schema]);
  const [raw, setRaw] = useState(fields === null);
  const [values, setValues] = useState(() => initialValues(schema));
  const [text, setText] = useState(() => (fields ? JSON.stringify(initialValues(schema), null, 2) : '{\n  "topic": "durable workflows"\n}'));
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let input: unknown;
    if (raw || !fields) {
      try {
        input = text.trim() ? JSON.parse(text) : null;
      } catch (err) {
        setError(new Error(`The input is not valid JSON: ${errorMessage(err)}`));
        return;
      }
    } else {
      const collected = collectInput(fields, values);
      setFieldErrors(collected.errors);
      if (Object.keys(collected.errors).length) return;
      input = collected.value;
    }
    setBusy(true);
    setError(null);
    try {
      await onRun(input);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Dialog title="Run workflow" onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <ErrorBanner error={error} />
        {fields ? (
          <label className="check small">
            <input
              type="checkbox"
              checked={raw}
              onChange={(e) => {
                if (e.target.checked) setText(JSON.stringify(collectInput(fields, values).value, null, 2));
                setRaw(e.target.checked);
              }}
            />
            Edit as raw JSON
          </label>
        ) : (
          <p className="muted small" style={{ margin: 0 }}>
            The input node has no schema, so any JSON value is accepted.
          </p>
        )}
        {raw || !fields ? (
          <label className="field">
            Input (JSON)
            <textarea rows={8} value={text} onChange={(e) => setText(e.target.value)} />
          </label>
        ) : (
          <SchemaForm fields={fields} values={values} errors={fieldErrors} onChange={setValues} />
        )}
        <div className="row" style={{ justifyContent: "flex-end" }}>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button className="primary" type="submit" disabled={busy}>
            {busy ? "Starting…" : "Start run"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
