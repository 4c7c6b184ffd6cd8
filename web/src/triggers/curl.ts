import { absoluteUrl, shellQuote } from "./shell";

/** The shell variable a command reads the API key from when the key is not shown. */
export const KEY_VARIABLE = "RELAYFLOW_WEBHOOK_KEY";

/** The `X-API-Key` header as a curl argument: the key itself, or the variable (double quotes, so it expands). */
export function keyHeader(key?: string | null): string {
  return key ? `-H ${shellQuote(`X-API-Key: ${key}`)}` : `-H "X-API-Key: $${KEY_VARIABLE}"`;
}

/** A ready-to-paste curl line for a webhook; `key` is left as a placeholder when unknown. */
export function curlLine(url: string, key?: string | null): string {
  return [
    `curl -X POST ${shellQuote(absoluteUrl(url))}`,
    keyHeader(key),
    `-H 'Content-Type: application/json'`,
    `-d '{"topic": "hello"}'`,
  ].join(" \\\n  ");
}
