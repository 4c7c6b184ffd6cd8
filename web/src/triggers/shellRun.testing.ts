// Runs a generated shell example with `curl` (and optionally `date`) replaced by shell
// functions, so tests can read the exact arguments curl would have been given.
import { execFileSync, spawnSync } from "node:child_process";

export const HAVE_BASH_AND_OPENSSL =
  spawnSync("bash", ["-c", "true"]).status === 0 && spawnSync("openssl", ["version"]).status === 0;

export interface CurlCall {
  args: string[];
  /** Each `-H` value, by header name. */
  headers: Map<string, string>;
  /** The value after `-d` or `--data-raw`. */
  body: string | undefined;
}

export function runWithFakeCurl(script: string, options: { now?: number; env?: Record<string, string> } = {}): CurlCall {
  const stubs = [
    // NUL-separated, so arguments with newlines or spaces come back whole.
    `curl() { printf '%s\\0' "$@"; }`,
    options.now === undefined ? "" : `date() { echo ${options.now}; }`,
  ].join("\n");
  const out = execFileSync("bash", ["--norc", "--noprofile", "-c", `${stubs}\n${script}`], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...options.env },
    encoding: "utf8",
  });
  const args = out.split("\0").slice(0, -1);
  const headers = new Map<string, string>();
  let body: string | undefined;
  args.forEach((arg, i) => {
    if (arg === "-H") {
      const header = args[i + 1];
      const colon = header.indexOf(":");
      headers.set(header.slice(0, colon), header.slice(colon + 1).trim());
    }
    if (arg === "-d" || arg === "--data-raw") body = args[i + 1];
  });
  return { args, headers, body };
}
