// An example value for a JSON Schema: what a run's input or a "try it" curl can send.
// The same rules as the server's (src/relayflow/input_example.py); both are tested on
// tests/triggers/input_example_cases.json, so a curl from either side is accepted.
import { isRecord } from "../api/errors";

type Schema = Record<string, unknown>;

/** Deeper than this (a recursive `$ref`), a value stops at null. */
const MAX_DEPTH = 8;
const PLAIN_STRING = "example";
const STRING_BY_FORMAT: Record<string, string> = {
  "date-time": "2026-01-31T09:30:00Z",
  date: "2026-01-31",
  time: "09:30:00",
  email: "user@example.com",
  uri: "https://example.com",
  url: "https://example.com",
  uuid: "00000000-0000-4000-8000-000000000000",
  hostname: "example.com",
  ipv4: "192.0.2.1",
};

/** An input the schema accepts in the common cases; `{}` without a schema. */
export function exampleInput(schema: unknown): unknown {
  if (!isRecord(schema) || Object.keys(schema).length === 0) return {};
  return example(schema, schema, 0);
}

/** An example for one property's schema (a nested one, or `undefined` for no schema). */
export function exampleValue(schema: unknown, root: unknown = schema): unknown {
  return example(schema, isRecord(root) ? root : {}, 0);
}

/** `exampleInput` as compact JSON (the request body). */
export function exampleBody(schema: unknown): string {
  return JSON.stringify(exampleInput(schema));
}

function example(schema: unknown, root: Schema, depth: number): unknown {
  if (!isRecord(schema) || depth > MAX_DEPTH) return null;
  if (typeof schema.$ref === "string") return example(resolve(schema.$ref, root), root, depth + 1);
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  for (const hint of ["example", "default", "const"]) if (hint in schema) return schema[hint];
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  for (const key of ["oneOf", "anyOf"]) {
    const branches = schema[key];
    if (Array.isArray(branches) && branches.length) return example(branches[0], root, depth + 1);
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length) return allOf(schema, schema.allOf, root, depth);
  switch (typeOf(schema)) {
    case "object":
      return object(schema, root, depth);
    case "array":
      return array(schema, root, depth);
    case "string":
      return string(schema);
    case "integer":
      return number(schema, true);
    case "number":
      return number(schema, false);
    case "boolean":
      return false;
    case "null":
      return null;
    default:
      return PLAIN_STRING;
  }
}

/** The schema's type: the first that is not null of a list, or implied by properties/items. */
export function typeOf(schema: Schema): string | null {
  let kind = schema.type;
  if (Array.isArray(kind)) {
    const named = kind.filter((k): k is string => typeof k === "string");
    kind = named.find((k) => k !== "null") ?? named[0] ?? null;
  }
  if (typeof kind === "string") return kind;
  if (isRecord(schema.properties)) return "object";
  if (isRecord(schema.items)) return "array";
  return null;
}

function resolve(ref: string, root: Schema): unknown {
  if (!ref.startsWith("#")) return null;
  let node: unknown = root;
  for (const raw of ref.replace(/^#+/, "").split("/")) {
    if (!raw) continue;
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (!isRecord(node) || !(part in node)) return null;
    node = node[part];
  }
  return node;
}

function allOf(schema: Schema, parts: unknown[], root: Schema, depth: number): unknown {
  const own = Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "allOf"));
  const values = parts.map((part) => example(part, root, depth + 1));
  if (Object.keys(own).length) values.unshift(example(own, root, depth));
  const objects = values.filter((v): v is Record<string, unknown> => isRecord(v));
  if (objects.length && objects.length === values.length) return Object.assign({}, ...objects);
  return values[0];
}

function object(schema: Schema, root: Schema, depth: number): Record<string, unknown> {
  const properties = isRecord(schema.properties) ? schema.properties : {};
  const value: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(properties)) value[name] = example(prop, root, depth + 1);
  const required = Array.isArray(schema.required) ? schema.required : [];
  for (const name of required) if (typeof name === "string" && !(name in value)) value[name] = PLAIN_STRING;
  return value;
}

function array(schema: Schema, root: Schema, depth: number): unknown[] {
  const count = Math.max(1, integer(schema.minItems, 1));
  const items = schema.items;
  let item: unknown = PLAIN_STRING;
  if (isRecord(items)) {
    if (schema.uniqueItems === true && Array.isArray(items.enum) && items.enum.length >= count) return items.enum.slice(0, count);
    item = example(items, root, depth + 1);
  }
  return Array.from({ length: count }, () => item);
}

function string(schema: Schema): string {
  let text = typeof schema.format === "string" ? (STRING_BY_FORMAT[schema.format] ?? PLAIN_STRING) : PLAIN_STRING;
  const shortest = integer(schema.minLength, 0);
  if (text.length < shortest) text += "x".repeat(shortest - text.length);
  const longest = schema.maxLength;
  if (Number.isInteger(longest) && text.length > (longest as number)) text = text.slice(0, Math.max(longest as number, 0));
  return text;
}

function number(schema: Schema, isInteger: boolean): number {
  const low = bound(schema.minimum);
  const high = bound(schema.maximum);
  const lowOpen = bound(schema.exclusiveMinimum);
  const highOpen = bound(schema.exclusiveMaximum);
  const lower = low ?? lowOpen;
  let value = low ?? (lowOpen !== null ? lowOpen + 1 : 1);
  // Above the upper bound: between the bounds when there are two, else on the
  // upper one (just under it when it is exclusive).
  if (high !== null && value > high) value = lower !== null ? (lower + high) / 2 : high;
  else if (highOpen !== null && value >= highOpen) value = lower !== null ? (lower + highOpen) / 2 : highOpen - 1;
  const step = bound(schema.multipleOf);
  if (step !== null && step > 0) value = Math.ceil(value / step) * step;
  return isInteger ? Math.ceil(value) : value;
}

function bound(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function integer(value: unknown, fallback: number): number {
  return Number.isInteger(value) ? (value as number) : fallback;
}
