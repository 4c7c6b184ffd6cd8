// A scripted stand-in for relayflow's API, over real HTTP on 127.0.0.1. Component tests
// serve their page from it (see setup.ts), so the app's own client (openapi-fetch, the SSE
// reader, error parsing) runs unchanged. Each test scripts the answers it needs; a request
// nobody scripted gets a 404 and is listed in `unexpected`.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

export interface Reply {
  status?: number;
  body?: unknown;
}

type Answer = Reply | ((request: ApiRequest) => Reply);

/** The API's error body: `{"error": {"code", "message", "details"}}`. */
export function errorReply(status: number, code: string, message: string, details: unknown = null): Reply {
  return { status, body: { error: { code, message, details } } };
}

/** An execution's event stream: the test sends events, ends or breaks it. */
export class EventStream {
  /** How many times the page connected (a reconnection counts again). */
  connections = 0;
  private open = new Set<ServerResponse>();
  private refusal: number | null = null;
  private nextId = 1;
  private waiters: { count: number; resolve: () => void }[] = [];

  handle(res: ServerResponse): void {
    this.connections += 1;
    this.waiters = this.waiters.filter((w) => (w.count <= this.connections ? void w.resolve() : true));
    if (this.refusal !== null) {
      res.writeHead(this.refusal, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ error: { code: "unavailable", message: "try again later", details: null } }));
      return;
    }
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
    res.write("retry: 1000\n: connected\n\n");
    this.open.add(res);
    res.on("close", () => this.open.delete(res));
  }

  /** Sends one event the way relayflow frames it. */
  send(kind: string, payload: Record<string, unknown>): void {
    const id = this.nextId++;
    const data = JSON.stringify({ id, kind, payload });
    for (const res of this.open) res.write(`id: ${id}\nevent: ${kind}\ndata: ${data}\n\n`);
  }

  /** Cuts every open connection and answers `status` to each reconnection from now on. */
  breakDown(status = 503): void {
    this.refusal = status;
    for (const res of this.open) res.destroy();
    this.open.clear();
  }

  /** Resolves once the page has connected `count` times in all. */
  connected(count: number): Promise<void> {
    if (this.connections >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  close(): void {
    for (const res of this.open) res.destroy();
    this.open.clear();
  }
}

export class FakeApi {
  readonly requests: ApiRequest[] = [];
  readonly unexpected: string[] = [];
  private answers = new Map<string, Answer>();
  private streams = new Map<string, EventStream>();
  private waiters: { key: string; count: number; resolve: (r: ApiRequest) => void }[] = [];
  private server = createServer((req, res) => void this.serve(req, res));
  origin = "";

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.reset();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Forgets every answer, stream and request (between tests). */
  reset(): void {
    this.answers.clear();
    for (const stream of this.streams.values()) stream.close();
    this.streams.clear();
    this.requests.length = 0;
    this.unexpected.length = 0;
    this.waiters = [];
  }

  /** What `method path` answers from now on (the path without its query). */
  on(method: string, path: string, answer: Answer): void {
    this.answers.set(`${method} ${path}`, answer);
  }

  /** An event stream served at `path`. */
  stream(path: string): EventStream {
    const stream = new EventStream();
    this.streams.set(path, stream);
    return stream;
  }

  /** The requests made to `method path` so far. */
  made(method: string, path: string): ApiRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === path);
  }

  /** Resolves with the `count`-th request to `method path`, once the page has made it. */
  received(method: string, path: string, count = 1): Promise<ApiRequest> {
    const key = `${method} ${path}`;
    const seen = this.made(method, path);
    if (seen.length >= count) return Promise.resolve(seen[count - 1]);
    return new Promise((resolve) => this.waiters.push({ key, count, resolve }));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.origin);
    const stream = this.streams.get(url.pathname);
    if (stream && req.method === "GET") return stream.handle(res);

    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const request: ApiRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      body: text ? JSON.parse(text) : undefined,
    };
    const key = `${request.method} ${request.path}`;
    this.requests.push(request);
    const answer = this.answers.get(key);
    const reply: Reply = answer === undefined ? errorReply(404, "not_found", `nothing scripted for ${key}`) : typeof answer === "function" ? answer(request) : answer;
    if (answer === undefined) this.unexpected.push(key);
    res.writeHead(reply.status ?? 200, { "Content-Type": "application/json" });
    res.end(reply.body === undefined ? "" : JSON.stringify(reply.body));

    const count = this.made(request.method, request.path).length;
    this.waiters = this.waiters.filter((w) => {
      if (w.key !== key || w.count > count) return true;
      w.resolve(request);
      return false;
    });
  }
}

/** The one fake API of a test file; setup.ts starts it and serves the page from it. */
export const fakeApi = new FakeApi();
