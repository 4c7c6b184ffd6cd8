// A form built from the input node's JSON Schema: one control per top-level property,
// each with its label, type, description, a required marker and an example.
import { useId } from "react";
import { isRecord } from "../api/errors";
import { exampleValue, typeOf } from "../triggers/inputExample";
import "./SchemaForm.css";

export type JsonSchema = Record<string, unknown>;

export interface SchemaField {
  name: string;
  /** The control: string, number, integer, boolean, enum, array, object or json. */
  type: string;
  /** The type as shown, e.g. "string (email)", "array of string", "one of". */
  typeLabel: string;
  title: string;
  description?: string;
  required: boolean;
  options?: string[];
  /** A value the schema accepts (its examples, default or enum first), for the placeholder. */
  example: unknown;
}

/** The fields a schema can be shown as, or null when it needs the raw JSON editor. */
export function schemaFields(schema: unknown): SchemaField[] | null {
  if (!isRecord(schema) || typeOf(schema) !== "object" || !isRecord(schema.properties)) return null;
  const required = Array.isArray(schema.required) ? schema.required : [];
  return Object.entries(schema.properties).map(([name, raw]) => {
    const prop = isRecord(raw) ? raw : {};
    const kind = typeOf(prop);
    const type = Array.isArray(prop.enum) ? "enum" : kind && kind !== "null" ? kind : "json";
    return {
      name,
      type,
      typeLabel: typeLabel(prop, type),
      title: typeof prop.title === "string" ? prop.title : name,
      description: typeof prop.description === "string" ? prop.description : undefined,
      required: required.includes(name),
      options: Array.isArray(prop.enum) ? prop.enum.map(String) : undefined,
      example: exampleValue(prop, schema),
    };
  });
}

function typeLabel(prop: JsonSchema, type: string): string {
  if (type === "enum") return "one of";
  if (type === "json") return "JSON";
  if (typeof prop.format === "string") return `${type} (${prop.format})`;
  if (type === "array" && isRecord(prop.items)) {
    const items = typeOf(prop.items);
    if (items) return `array of ${items}`;
  }
  return type;
}

export function initialValues(schema: unknown): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  if (!isRecord(schema) || !isRecord(schema.properties)) return values;
  for (const [name, raw] of Object.entries(schema.properties)) {
    if (isRecord(raw) && raw.default !== undefined) values[name] = raw.default;
    else if (isRecord(raw) && raw.type === "boolean") values[name] = false;
  }
  return values;
}

/** The example as a control's text: strings as they are, anything else as JSON. */
export function exampleText(field: SchemaField): string {
  const { example } = field;
  if (example === undefined || example === null) return "";
  if (typeof example === "string") return example;
  const structured = field.type === "array" || field.type === "object" || field.type === "json";
  return structured ? JSON.stringify(example, null, 2) : String(example);
}

/** `values` with every empty field filled with its example. */
export function withExamples(fields: SchemaField[], values: Record<string, unknown>): Record<string, unknown> {
  const filled = { ...values };
  for (const field of fields) {
    const current = filled[field.name];
    if (current !== undefined && current !== "" && field.type !== "boolean") continue;
    if (field.type === "boolean") {
      if (typeof field.example === "boolean") filled[field.name] = field.example;
    } else if (field.type === "enum") {
      filled[field.name] = field.example === undefined ? "" : String(field.example);
    } else filled[field.name] = exampleText(field);
  }
  return filled;
}

/** Field values -> the input object, with a message per field that cannot be read. */
export function collectInput(
  fields: SchemaField[],
  values: Record<string, unknown>,
): { value: Record<string, unknown>; errors: Record<string, string> } {
  const value: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const raw = values[field.name];
    const empty = raw === undefined || raw === "";
    if (empty) {
      if (field.required) errors[field.name] = `${field.title} is required.`;
      continue;
    }
    if (field.type === "number" || field.type === "integer") {
      const n = Number(raw);
      if (Number.isNaN(n) || (field.type === "integer" && !Number.isInteger(n))) {
        errors[field.name] = `${field.title} must be ${field.type === "integer" ? "a whole number" : "a number"}.`;
      } else value[field.name] = n;
    } else if (field.type === "array" || field.type === "object" || field.type === "json") {
      try {
        value[field.name] = typeof raw === "string" ? JSON.parse(raw) : raw;
      } catch {
        errors[field.name] = `${field.title} must be valid JSON.`;
      }
    } else value[field.name] = raw;
  }
  return { value, errors };
}

interface FormProps {
  fields: SchemaField[];
  values: Record<string, unknown>;
  errors: Record<string, string>;
  onChange: (values: Record<string, unknown>) => void;
}

export function SchemaForm({ fields, values, errors, onChange }: FormProps) {
  const set = (name: string, value: unknown) => onChange({ ...values, [name]: value });
  return (
    <div className="stack">
      {fields.map((field) => (
        <FieldControl key={field.name} field={field} value={values[field.name]} error={errors[field.name]} onChange={(v) => set(field.name, v)} />
      ))}
    </div>
  );
}

interface FieldProps {
  field: SchemaField;
  value: unknown;
  error?: string;
  onChange: (value: unknown) => void;
}

function FieldControl({ field, value, error, onChange }: FieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [field.description ? hintId : "", error ? errorId : ""].filter(Boolean).join(" ") || undefined;
  const common = {
    id,
    "aria-invalid": error ? true : undefined,
    "aria-required": field.required || undefined,
    "aria-describedby": describedBy,
  };
  const example = exampleText(field);
  const placeholder = example ? (example.includes("\n") ? example : `e.g. ${example}`) : undefined;
  let control;
  if (field.type === "boolean") {
    control = (
      <input {...common} className="schema-field-check" type="checkbox" checked={Boolean(value)} onChange={(e) => onChange(e.target.checked)} />
    );
  } else if (field.type === "enum") {
    control = (
      <select {...common} value={String(value ?? "")} onChange={(e) => onChange(e.target.value)}>
        <option value="">—</option>
        {field.options?.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  } else if (field.type === "number" || field.type === "integer") {
    control = <input {...common} type="number" placeholder={placeholder} value={String(value ?? "")} onChange={(e) => onChange(e.target.value)} />;
  } else if (field.type === "string") {
    control = <input {...common} placeholder={placeholder} value={String(value ?? "")} onChange={(e) => onChange(e.target.value)} />;
  } else {
    control = (
      <textarea
        {...common}
        className="mono"
        rows={Math.min(8, Math.max(3, example.split("\n").length))}
        placeholder={placeholder}
        value={typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value, null, 2)}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  }
  return (
    <div className="schema-field" data-field={field.name}>
      <div className="schema-field-head">
        <label htmlFor={id}>{field.title}</label>
        {field.required ? (
          <span className="schema-field-required" aria-hidden title="required">
            *
          </span>
        ) : null}
        <span className="schema-field-type">{field.typeLabel}</span>
      </div>
      {field.description ? (
        <span id={hintId} className="hint">
          {field.description}
        </span>
      ) : null}
      {control}
      {error ? (
        <span id={errorId} className="field-error">
          {error}
        </span>
      ) : null}
    </div>
  );
}
