import { describe, expect, it } from "vitest";
import { curlLine, exampleBodyOf } from "./curl";
import { HAVE_BASH_AND_OPENSSL, runWithFakeCurl } from "./shellRun.testing";

describe("curlLine", () => {
  it("shows the key when it is known", () => {
    const line = curlLine("http://relayflow.test/hooks/abc", "rf_key");
    expect(line).toContain("curl -X POST 'http://relayflow.test/hooks/abc'");
    expect(line).toContain("-H 'X-API-Key: rf_key'");
  });

  it.skipIf(!HAVE_BASH_AND_OPENSSL)("reads the key from $RELAYFLOW_WEBHOOK_KEY when it is not", () => {
    const sent = runWithFakeCurl(curlLine("http://relayflow.test/hooks/abc"), { env: { RELAYFLOW_WEBHOOK_KEY: "rf_env" } });
    expect(sent.headers.get("X-API-Key")).toBe("rf_env");
    expect(sent.body).toBe("{}");
  });

  it.skipIf(!HAVE_BASH_AND_OPENSSL)("sends the webhook's example input exactly, whatever it holds", () => {
    const webhook = { example_input: { note: "it's $HOME, `ls` and café", items: [{ qty: 1 }] } };
    const sent = runWithFakeCurl(curlLine("http://relayflow.test/hooks/abc", "rf_key", exampleBodyOf(webhook)));
    expect(JSON.parse(sent.body ?? "")).toEqual(webhook.example_input);
    expect(exampleBodyOf({})).toBe("{}");
  });
});
