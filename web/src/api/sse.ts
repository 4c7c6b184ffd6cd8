// Server-Sent Events over fetch: EventSource cannot send the bearer token, so this reads
// the stream itself and, when the connection drops, reconnects with Last-Event-ID so no
// event is missed.
import { getToken } from "./session";
import { isRecord } from "./errors";

export interface StreamEvent {
  id: number;
  kind: string;
  payload: Record<string, unknown>;
}

export interface StreamOptions {
  onEvent: (event: StreamEvent) => void;
  onError?: (error: Error) => void;
  /** Called when the server ends the stream (after the final execution status). */
  onEnd?: () => void;
  retryMs?: number;
}

/** Parses SSE text into events; returns the unconsumed tail for the next chunk. */
export function parseSseChunk(
  buffer: string,
  emit: (event: { id: string | null; event: string; data: string }) => void,
): string {
  const blocks = buffer.replace(/\r\n?/g, "\n").split("\n\n");
  const tail = blocks.pop() ?? "";
  for (const block of blocks) {
    let id: string | null = null;
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "id") id = value;
      else if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length || id !== null) emit({ id, event, data: data.join("\n") });
  }
  return tail;
}

/** Turns one SSE message into a relayflow event, whichever way the server framed it. */
export function toStreamEvent(raw: { id: string | null; event: string; data: string }): StreamEvent {
  let parsed: unknown = null;
  try {
    parsed = raw.data ? JSON.parse(raw.data) : null;
  } catch {
    parsed = raw.data;
  }
  const id = Number(raw.id ?? (isRecord(parsed) ? parsed.id : 0)) || 0;
  if (isRecord(parsed) && typeof parsed.kind === "string" && isRecord(parsed.payload)) {
    return { id, kind: parsed.kind, payload: parsed.payload };
  }
  return { id, kind: raw.event, payload: isRecord(parsed) ? parsed : { value: parsed } };
}

/** Follows an execution's events until the stream ends or `close()` is called. */
export function followEvents(url: string, options: StreamOptions): { close: () => void } {
  const controller = new AbortController();
  let lastId = 0;
  let closed = false;

  const run = async () => {
    while (!closed) {
      try {
        const headers: Record<string, string> = { Accept: "text/event-stream" };
        const token = getToken();
        if (token) headers.Authorization = `Bearer ${token}`;
        if (lastId) headers["Last-Event-ID"] = String(lastId);
        const response = await fetch(url, { headers, signal: controller.signal });
        if (response.status >= 400 && response.status < 500 && response.status !== 429) {
          // Not found, not allowed or signed out: retrying cannot help.
          closed = true;
          options.onError?.(new Error(`event stream answered ${response.status}`));
          return;
        }
        if (!response.ok || !response.body) {
          throw new Error(`event stream answered ${response.status}`);
        }
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer = parseSseChunk(buffer + value, (raw) => {
            const event = toStreamEvent(raw);
            if (event.id) lastId = Math.max(lastId, event.id);
            options.onEvent(event);
          });
        }
        // A clean end means the execution reached a final status.
        closed = true;
        options.onEnd?.();
        return;
      } catch (error) {
        if (closed || controller.signal.aborted) return;
        options.onError?.(error instanceof Error ? error : new Error(String(error)));
        await new Promise((resolve) => setTimeout(resolve, options.retryMs ?? 1000));
      }
    }
  };
  void run();
  return {
    close: () => {
      closed = true;
      controller.abort();
    },
  };
}
