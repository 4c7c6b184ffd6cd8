import type { SignedWebhook } from "./SigningSecretDialog";

interface Props {
  webhook: SignedWebhook;
  onIssue: () => void;
  onRemove: () => void;
  onRequireChange: (required: boolean) => void;
}

/** A webhook's signing state in its table row: signed or not, required or not, and the actions. */
export function SigningControls({ webhook, onIssue, onRemove, onRequireChange }: Props) {
  const signed = Boolean(webhook.has_signing_secret);
  const required = Boolean(webhook.require_signature);
  return (
    <div className="stack" style={{ gap: 6 }}>
      <div className="row">
        {signed ? <span className="badge s-completed">Signed</span> : <span className="badge">Not signed</span>}
        {/* Shown without a secret only if required is somehow on, so it can be turned off. */}
        {signed || required ? (
          <label className="check small">
            <input type="checkbox" checked={required} onChange={(e) => onRequireChange(e.target.checked)} />
            required
          </label>
        ) : null}
      </div>
      <div className="row">
        {/* Short labels keep the row on one line; the column says what they act on. */}
        <button className="small" onClick={onIssue} aria-label={signed ? "Rotate signing secret" : undefined}>
          {signed ? "Rotate" : "Create signing secret"}
        </button>
        {signed ? (
          <button className="small danger" onClick={onRemove} aria-label="Remove signing secret">
            Remove
          </button>
        ) : null}
      </div>
    </div>
  );
}
