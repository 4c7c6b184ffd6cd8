// A form built from the input node's JSON Schema: one control per top-level property.
import { isRecord } from "../api/errors";

export type JsonSchema = Record<string, unknown>;

export interface SchemaField {
  name: string;
  type: string;
  title: string;
  description?: string;
  required: boolean;
  options?: string[];
}

/** The fields a schema can be shown as, or null when it needs the raw JSON editor. */
export function schemaFields(schema: unknown): SchemaField[] | null {
  if (!isRecord(schema) || schema.type !== "object" || !isRecord(schema.properties)) return null;
  const required = Array.isArray(schema.required) ? schema.required : [];
  return Object.entries(schema.properties).map(([name, raw]) => {
    const prop = isRecord(raw) ? raw : {};
    const type = Array.isArray(prop.enum) ? "enum" : typeof prop.type === "string" ? prop.type : "json";
    return {
      name,
      type,
      title: typeof prop.title === "string" ? prop.title : name,
      description: typeof prop.description === "string" ? prop.description : undefined,
      required: required.includes(name),
      options: Array.isArray(prop.enum) ? prop.enum.map(String) : undefined,
    };
  });
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
      {fields.map((field) => {
        const error = errors[field.name];
        const label = (
          <>
            {field.title}
            {field.required ? <span aria-hidden> *</span> : null}
            {field.description ? <span className="hint">{field.description}</span> : null}
          </>
        );
        const common = { "aria-invalid": error ? true : undefined, "aria-required": field.required || undefined };
        let control;
        if (field.type === "boolean") {
          return (
            <label key={field.name} className="check">
              <input type="checkbox" checked={Boolean(values[field.name])} onChange={(e) => set(field.name, e.target.checked)} />
              {field.title}
            </label>
          );
        } else if (field.type === "enum") {
          control = (
            <select {...common} value={String(values[field.name] ?? "")} onChange={(e) => set(field.name, e.target.value)}>
              <option value="">—</option>
              {field.options?.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          );
        } else if (field.type === "number" || field.type === "integer") {
          control = <input {...common} type="number" value={String(values[field.name] ?? "")} onChange={(e) => set(field.name, e.target.value)} />;
        } else if (field.type === "string") {
          control = <input {...common} value={String(values[field.name] ?? "")} onChange={(e) => set(field.name, e.target.value)} />;
        } else {
          const raw = values[field.name];
          control = (
            <textarea
              {...common}
              value={typeof raw === "string" ? raw : raw === undefined ? "" : JSON.stringify(raw, null, 2)}
              onChange={(e) => set(field.name, e.target.value)}
            />
          );
        }
        return (
          <label key={field.name} className="field">
            {label}
            {control}
            {error ? <span className="field-error">{error}</span> : null}
          </label>
        );
      })}
    </div>
  );
}
