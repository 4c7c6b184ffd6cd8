/** A ready-to-paste curl line for a webhook; `key` is left as a placeholder when unknown. */
export function curlLine(url: string, key?: string | null): string {
  const absolute = url.startsWith("http") ? url : `${window.location.origin}${url}`;
  return [
    `curl -X POST '${absolute}'`,
    `-H 'X-API-Key: ${key ?? "$RELAYFLOW_WEBHOOK_KEY"}'`,
    `-H 'Content-Type: application/json'`,
    `-d '{"topic": "hello"}'`,
  ].join(" \\\n  ");
}
