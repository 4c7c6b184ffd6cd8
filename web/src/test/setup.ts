import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterAll, afterEach, expect } from "vitest";
import { fakeApi } from "./fakeApi";

declare global {
  // The jsdom instance vitest runs the page in.
  var jsdom: { reconfigure(settings: { url?: string }): void };
}

// Answers come over real HTTP from the fake API: on a slow or busy machine one can take
// longer than testing-library's default 1 s wait for an element (`findBy...`, `waitFor`).
configure({ asyncUtilTimeout: 5000 });

// The page is served from the fake API's origin, so the app's client talks HTTP to it.
await fakeApi.start();
jsdom.reconfigure({ url: `${fakeApi.origin}/` });

// Node's fetch (jsdom has none) does not resolve a relative URL against the page the way a
// browser does; the event stream reader asks for "/api/...".
const nodeFetch = globalThis.fetch;
globalThis.fetch = (input, init) =>
  nodeFetch(typeof input === "string" ? new URL(input, window.location.href) : input, init);

afterEach(() => {
  cleanup();
  window.localStorage.clear();
  const unexpected = [...fakeApi.unexpected];
  fakeApi.reset();
  expect(unexpected, "requests no test scripted an answer for").toEqual([]);
});
afterAll(() => fakeApi.stop());

// jsdom lacks the layout APIs React Flow measures with.
class ResizeObserverStub implements ResizeObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
}
globalThis.ResizeObserver ??= ResizeObserverStub;
