import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { EXAMPLE_BODY, signedCurlScript } from "./signedCurl";
import { HAVE_BASH_AND_OPENSSL, runWithFakeCurl } from "./shellRun.testing";

const URL = "http://relayflow.test/hooks/0b6f0c1e-8f0e-4f43-9d41-5d1d7c1c2a10";
const SECRET = "whsec_Zm9vYmFyYmF6cXV4LXRlc3Qtc2VjcmV0X3ZhbHVl";
const KEY = "rf_test_key_0123456789";
const NOW = 1_700_000_000;

/** What relayflow expects in X-Relayflow-Signature, computed independently of the script. */
function expectedSignature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`, "utf8").digest("hex")}`;
}

describe.skipIf(!HAVE_BASH_AND_OPENSSL)("the signed curl example, run in bash with openssl", () => {
  it("sends the HMAC-SHA256 of '{timestamp}.{body}' with the timestamp it signed", () => {
    const body = '{"topic": "hello"}';
    const sent = runWithFakeCurl(signedCurlScript({ url: URL, secret: SECRET, key: KEY, body }), { now: NOW });
    expect(sent.args.slice(0, 3)).toEqual(["-X", "POST", URL]);
    expect(sent.body).toBe(body);
    expect(sent.headers.get("X-Relayflow-Timestamp")).toBe(String(NOW));
    expect(sent.headers.get("X-Relayflow-Signature")).toBe(expectedSignature(SECRET, NOW, body));
    // The value relayflow.signatures.compute_signature gives for the same inputs.
    expect(sent.headers.get("X-Relayflow-Signature")).toBe(
      "sha256=c6090980a95b528125f09eb5b31240c763f281f6b43ba3b23b0bc0cf00307cb0",
    );
    expect(sent.headers.get("X-API-Key")).toBe(KEY);
    expect(sent.headers.get("Content-Type")).toBe("application/json");
  });

  it("signs exactly the bytes it sends, whatever the body holds", () => {
    const body = `{"note": "it's $HOME, \`ls\`, \\\\ and café ✓"}`;
    const sent = runWithFakeCurl(signedCurlScript({ url: URL, secret: SECRET, key: KEY, body }), { now: NOW });
    expect(sent.body).toBe(body);
    expect(sent.headers.get("X-Relayflow-Signature")).toBe(expectedSignature(SECRET, NOW, body));
  });

  it("reads the secret and the key from shell variables when they are not shown", () => {
    const script = signedCurlScript({ url: URL });
    expect(script).not.toContain(SECRET);
    const sent = runWithFakeCurl(script, {
      now: NOW,
      env: { RELAYFLOW_SIGNING_SECRET: SECRET, RELAYFLOW_WEBHOOK_KEY: KEY },
    });
    expect(sent.headers.get("X-API-Key")).toBe(KEY);
    expect(sent.headers.get("X-Relayflow-Signature")).toBe(expectedSignature(SECRET, NOW, EXAMPLE_BODY));
  });

  it("uses the current time when date is not replaced", () => {
    const sent = runWithFakeCurl(signedCurlScript({ url: URL, secret: SECRET, key: KEY }));
    const timestamp = Number(sent.headers.get("X-Relayflow-Timestamp"));
    expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(3600);
    expect(sent.headers.get("X-Relayflow-Signature")).toBe(expectedSignature(SECRET, timestamp, EXAMPLE_BODY));
  });
});

describe("the signed curl example's text", () => {
  it("names the headers the API gave and resolves a relative URL against this origin", () => {
    const script = signedCurlScript({
      url: "/hooks/abc",
      secret: SECRET,
      signatureHeader: "X-Sig",
      timestampHeader: "X-Time",
    });
    expect(script).toContain(`curl -X POST '${window.location.origin}/hooks/abc'`);
    expect(script).toContain('-H "X-Time: $TS"');
    expect(script).toContain('-H "X-Sig: sha256=$SIG"');
    expect(script).toContain(`SECRET='${SECRET}'`);
    expect(script).toContain("openssl dgst -sha256 -hmac");
  });
});
