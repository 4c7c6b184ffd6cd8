import { keyHeader } from "./curl";
import { absoluteUrl, shellQuote } from "./shell";

/** The shell variable the example reads the signing secret from when it is not shown. */
export const SECRET_VARIABLE = "RELAYFLOW_SIGNING_SECRET";
export const SIGNATURE_HEADER = "X-Relayflow-Signature";
export const TIMESTAMP_HEADER = "X-Relayflow-Timestamp";
export const SCHEME = "sha256=hex(HMAC-SHA256(signing_secret, '{timestamp}.{body}'))";
/** The body when none is given (the webhook's example input is usually passed). */
export const EXAMPLE_BODY = "{}";

export interface SignedCurlOptions {
  /** The webhook's URL, absolute or relative to this origin. */
  url: string;
  /** The signing secret; a shell variable stands in when it is not given. */
  secret?: string | null;
  /** The API key; a shell variable stands in when it is not given. */
  key?: string | null;
  body?: string;
  signatureHeader?: string;
  timestampHeader?: string;
}

/**
 * A ready-to-run shell example that signs one delivery and sends it: openssl computes
 * `sha256=hex(HMAC-SHA256(secret, "{timestamp}.{body}"))` over the exact bytes curl sends.
 */
export function signedCurlScript(options: SignedCurlOptions): string {
  const secret = options.secret ? shellQuote(options.secret) : `"$${SECRET_VARIABLE}"`;
  const body = options.body ?? EXAMPLE_BODY;
  const curl = [
    `curl -X POST ${shellQuote(absoluteUrl(options.url))}`,
    keyHeader(options.key),
    `-H 'Content-Type: application/json'`,
    `-H "${options.timestampHeader ?? TIMESTAMP_HEADER}: $TS"`,
    `-H "${options.signatureHeader ?? SIGNATURE_HEADER}: sha256=$SIG"`,
    // --data-raw sends the body as is (no @file reading), so the signed bytes are the sent bytes.
    `--data-raw "$BODY"`,
  ].join(" \\\n  ");
  return [
    `SECRET=${secret}`,
    `BODY=${shellQuote(body)}`,
    "TS=$(date +%s)",
    // printf adds no newline; the last field of openssl's answer is the hex digest (OpenSSL 1.1 and 3).
    `SIG=$(printf '%s.%s' "$TS" "$BODY" \\\n  | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.* //')`,
    curl,
  ].join("\n");
}
