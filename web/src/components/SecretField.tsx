import { CopyButton } from "./CopyButton";

/** A value shown once (an API key, a signing secret), with a copy button. */
export function SecretField({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <label className="field">
      {label}
      <div className="secret">
        <code data-testid={testId}>{value}</code>
        <CopyButton text={value} />
      </div>
    </label>
  );
}
