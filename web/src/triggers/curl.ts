import { absoluteUrl, shellQuote } from "./shell";

/** The shell variable a command reads the API key from when the key is not shown. */
export const KEY_VARIABLE = "RELAYFLOW_WEBHOOK_KEY";

/** The `X-API-Key` header as a curl argument: the key itself, or the variable (double quotes, so it expands). */
export function keyHeader(key?: string | null): string {
  return key ? `-H ${shellQuote(`X-API-Key: ${key}`)}` : `-H "X-API-Key: $${KEY_VARIABLE}"`;
}

/** The body a try-it command sends: the webhook's example input (built by the server from
 * the workflow's input schema), as compact JSON; `{}` when there is none. */
export function exampleBodyOf(webhook: { example_input?: unknown }): string {
  return JSON.stringify(webhook.example_input ?? {});
}

/** A ready-to-paste curl line for a webhook; `key` is left as a placeholder when unknown. */
export function curlLine(url: string, key?: string | null, body = "{}"): string {
  return [
    `curl -X POST ${shellQuote(absoluteUrl(url))}`,
    keyHeader(key),
    `-H 'Content-Type: application/json'`,
    `-d ${shellQuote(body)}`,
  ].join(" \\\n  ");
}
