// Small form controls shared by the node forms. Each edit calls `onChange` with the
// field's new value; a field's key lets consecutive keystrokes form one undo step.
import { useEffect, useId, useState, type ReactNode } from "react";
import { errorMessage } from "../../api/errors";

interface FieldProps<T> {
  label: string;
  value: T;
  onChange: (value: T) => void;
  hint?: ReactNode;
  placeholder?: string;
}

export function TextField({ label, value, onChange, hint, placeholder, multiline }: FieldProps<string> & { multiline?: boolean }) {
  return (
    <label className="field">
      {label}
      {hint ? <span className="hint">{hint}</span> : null}
      {multiline ? (
        <textarea value={value} placeholder={placeholder} onChange={(e) => onChange(e.target.value)} />
      ) : (
        <input value={value} placeholder={placeholder} onChange={(e) => onChange(e.target.value)} />
      )}
    </label>
  );
}

export function NumberField({ label, value, onChange, hint, placeholder, min, step }: FieldProps<number | undefined> & { min?: number; step?: number }) {
  return (
    <label className="field">
      {label}
      {hint ? <span className="hint">{hint}</span> : null}
      <input
        type="number"
        value={value ?? ""}
        min={min}
        step={step}
        placeholder={placeholder}
        onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))}
      />
    </label>
  );
}

export function SelectField({ label, value, onChange, options, hint }: FieldProps<string> & { options: [string, string][] }) {
  return (
    <label className="field">
      {label}
      {hint ? <span className="hint">{hint}</span> : null}
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

/**
 * A JSON value edited as text. The node's data changes only when the text parses;
 * otherwise the parse error is shown under the field.
 */
export function JsonField({ label, value, onChange, hint, placeholder }: FieldProps<unknown>) {
  const id = useId();
  const format = (v: unknown) => (v === undefined ? "" : JSON.stringify(v, null, 2));
  const [text, setText] = useState(() => format(value));
  const [error, setError] = useState<string | null>(null);
  // Follow outside changes (undo, another node selected) unless they are our own edit.
  useEffect(() => {
    setText((current) => {
      try {
        if (current.trim() && JSON.stringify(JSON.parse(current)) === JSON.stringify(value)) return current;
      } catch {
        /* the user is mid-edit */
      }
      return format(value);
    });
    setError(null);
  }, [value]);
  return (
    <label className="field" htmlFor={id}>
      {label}
      {hint ? <span className="hint">{hint}</span> : null}
      <textarea
        id={id}
        value={text}
        placeholder={placeholder}
        aria-invalid={error ? true : undefined}
        onChange={(e) => {
          const next = e.target.value;
          setText(next);
          if (!next.trim()) {
            setError(null);
            onChange(undefined);
            return;
          }
          try {
            const parsed = JSON.parse(next);
            setError(null);
            onChange(parsed);
          } catch (err) {
            setError(`Not valid JSON: ${errorMessage(err)}`);
          }
        }}
      />
      {error ? (
        <span className="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </label>
  );
}
