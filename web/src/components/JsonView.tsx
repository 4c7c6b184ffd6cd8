/** A value as pretty JSON. The box scrolls past a height, so it takes keyboard focus (to
 * scroll with the arrow keys) and, when labelled, is a named region a screen reader announces. */
export function JsonView({ value, label }: { value: unknown; label?: string }) {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return (
    <pre className="json" tabIndex={0} role={label ? "region" : undefined} aria-label={label}>
      {text === undefined ? "—" : text}
    </pre>
  );
}
