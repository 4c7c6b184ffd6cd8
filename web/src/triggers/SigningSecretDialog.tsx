import { useState } from "react";
import { CopyButton } from "../components/CopyButton";
import { Dialog } from "../components/Dialog";
import { SecretField } from "../components/SecretField";
import { ErrorBanner } from "../components/ErrorBanner";
import { KEY_VARIABLE } from "./curl";
import { exampleBodyOf } from "./curl";
import { SCHEME, signedCurlScript, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "./signedCurl";
import type { SigningSecret } from "../api/types";

export interface SignedWebhook {
  url: string;
  has_signing_secret?: boolean;
  require_signature?: boolean;
  /** An input the workflow accepts: the example's body. */
  example_input?: unknown;
}

interface Props {
  webhook: SignedWebhook;
  /** Creates (or rotates) the secret on the server. */
  issue: (requireSignature: boolean) => Promise<SigningSecret>;
  onClose: () => void;
}

/** Creates or rotates a webhook's signing secret, then shows it once with how to sign. */
export function SigningSecretDialog({ webhook, issue, onClose }: Props) {
  const [issued, setIssued] = useState<SigningSecret | null>(null);
  // Rotating keeps the current rule; a first secret requires signatures, as the API does.
  const [requireSignature, setRequireSignature] = useState(
    webhook.has_signing_secret ? Boolean(webhook.require_signature) : true,
  );
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const rotating = Boolean(webhook.has_signing_secret);

  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      setIssued(await issue(requireSignature));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  if (issued) return <RevealedSecret webhook={webhook} issued={issued} onClose={onClose} />;
  return (
    <Dialog
      title={rotating ? "Rotate signing secret?" : "Create signing secret"}
      onClose={onClose}
      footer={
        <>
          <button onClick={onClose}>Cancel</button>
          <button className="primary" disabled={busy} onClick={submit}>
            {rotating ? "Rotate secret" : "Create secret"}
          </button>
        </>
      }
    >
      <ErrorBanner error={error} />
      <p style={{ margin: 0 }}>
        Senders sign each delivery with HMAC-SHA256 over <code>{"{timestamp}.{body}"}</code>; relayflow checks the
        signature before it starts a run. The API key is still needed.
      </p>
      {rotating ? (
        <div className="banner error" style={{ margin: 0 }}>
          The new secret replaces the current one at once: deliveries signed with the old secret will get 401.
        </div>
      ) : null}
      <label className="check">
        <input type="checkbox" checked={requireSignature} onChange={(e) => setRequireSignature(e.target.checked)} />
        Require signatures (refuse unsigned deliveries with 401)
      </label>
    </Dialog>
  );
}

function RevealedSecret({ webhook, issued, onClose }: { webhook: SignedWebhook; issued: SigningSecret; onClose: () => void }) {
  const signatureHeader = issued.signature_header ?? SIGNATURE_HEADER;
  const timestampHeader = issued.timestamp_header ?? TIMESTAMP_HEADER;
  const example = signedCurlScript({
    url: webhook.url,
    secret: issued.signing_secret,
    body: exampleBodyOf(webhook),
    signatureHeader,
    timestampHeader,
  });
  return (
    <Dialog
      title="Signing secret"
      onClose={onClose}
      wide
      footer={
        <button className="primary" onClick={onClose}>
          Done
        </button>
      }
    >
      <div className="banner info" style={{ margin: 0 }}>
        Copy the secret now: it is shown only once.{" "}
        {issued.require_signature
          ? "Unsigned deliveries are refused from now on."
          : "Unsigned deliveries are still accepted; a wrong signature is refused."}
      </div>
      <SecretField label="Signing secret" value={issued.signing_secret} testId="signing-secret" />
      <dl className="stat-grid" style={{ margin: 0 }} aria-label="How to sign">
        <dt>Timestamp header</dt>
        <dd>
          <code>{timestampHeader}</code>: Unix seconds, within {issued.tolerance_s ?? 300} s of the server's clock
        </dd>
        <dt>Signature header</dt>
        <dd>
          <code>{signatureHeader}</code>
        </dd>
        <dt>Scheme</dt>
        <dd>
          <code data-testid="signing-scheme">{issued.scheme ?? SCHEME}</code>
        </dd>
      </dl>
      <label className="field">
        Try it
        <span className="hint">
          Signs one delivery with openssl and sends it with curl; set <code>{KEY_VARIABLE}</code> to the webhook's
          API key first.
        </span>
        <div className="secret" style={{ alignItems: "flex-start" }}>
          <pre className="mono" data-testid="signing-example" style={{ flex: 1 }}>
            {example}
          </pre>
          <CopyButton text={example} />
        </div>
      </label>
    </Dialog>
  );
}
