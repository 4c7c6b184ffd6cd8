import { useMemo, useState, type FormEvent } from "react";
import { errorMessage, isRecord } from "../api/errors";
import { Dialog } from "../components/Dialog";
import { ErrorBanner } from "../components/ErrorBanner";
import { exampleInput } from "../triggers/inputExample";
import { collectInput, initialValues, SchemaForm, schemaFields, withExamples } from "./SchemaForm";

interface Props {
  schema: unknown;
  onClose: () => void;
  onRun: (input: unknown) => Promise<void>;
}

/** The raw JSON to start from: the form's defaults, an example of another schema, or `{}`. */
function initialText(schema: unknown, hasFields: boolean): string {
  if (hasFields) return JSON.stringify(initialValues(schema), null, 2);
  return JSON.stringify(exampleInput(schema), null, 2);
}

/** Asks for an execution's input: a form from the input node's schema, or raw JSON. */
export function RunDialog({ schema, onClose, onRun }: Props) {
  const fields = useMemo(() => schemaFields(schema), [schema]);
  const hasSchema = isRecord(schema) && Object.keys(schema).length > 0;
  const [raw, setRaw] = useState(fields === null);
  const [values, setValues] = useState(() => initialValues(schema));
  const [text, setText] = useState(() => initialText(schema, fields !== null));
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
          <div className="row" style={{ justifyContent: "space-between" }}>
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
            {raw ? null : (
              <button type="button" className="small" onClick={() => setValues(withExamples(fields, values))}>
                Fill in examples
              </button>
            )}
          </div>
        ) : (
          <p className="muted small" style={{ margin: 0 }}>
            {hasSchema
              ? "The input node's schema is not an object with properties: write the input as JSON (an example is filled in)."
              : "The input node has no schema, so any JSON value is accepted."}
          </p>
        )}
        {raw || !fields ? (
          <label className="field">
            Input (JSON)
            <textarea className="mono" rows={8} value={text} onChange={(e) => setText(e.target.value)} />
          </label>
        ) : (
          <>
            {fields.some((f) => f.required) ? (
              <p className="muted small" style={{ margin: 0 }}>
                Fields marked <span className="schema-field-required">*</span> are required.
              </p>
            ) : null}
            <SchemaForm fields={fields} values={values} errors={fieldErrors} onChange={setValues} />
          </>
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
