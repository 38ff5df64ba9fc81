/** Test helpers for the server half: a real node:http server on port 0 and a cookie-keeping client. */
import http, { type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import type { SessionStore } from "../../src/stores/contract.js";

export const SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

export interface TestServer {
  url: string;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startServer(listener: RequestListener): Promise<TestServer> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url: `http://127.0.0.1:${port}`, close, [Symbol.asyncDispose]: close };
}

export interface Reply {
  status: number;
  body: string;
  headers: Headers;
  setCookie: string[];
}

/** A browser-like client for one cookie: keeps it, replaces it, drops it on Max-Age=0. */
export class Client {
  cookie: string | undefined;
  constructor(
    readonly base: string,
    readonly name = "sid",
  ) {}

  async get(path = "/", extraHeaders: Record<string, string> = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...extraHeaders };
    if (this.cookie !== undefined && headers.cookie === undefined) headers.cookie = `${this.name}=${this.cookie}`;
    const res = await fetch(this.base + path, { headers });
    const body = await res.text();
    const setCookie = res.headers.getSetCookie();
    for (const line of setCookie) {
      const [pair] = line.split(";");
      const eq = pair.indexOf("=");
      if (pair.slice(0, eq) !== this.name) continue;
      this.cookie = /;\s*Max-Age=0(;|$)/i.test(line) ? undefined : pair.slice(eq + 1);
    }
    return { status: res.status, body, headers: res.headers, setCookie };
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Call = { method: string; id: string };

/** Wraps a store to record every call, so tests can assert what was (not) written. */
export function recording<S extends SessionStore>(store: S): { store: S; calls: Call[] } {
  const calls: Call[] = [];
  const proxy = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function" || typeof prop !== "string") return value;
      return (...args: unknown[]) => {
        calls.push({ method: prop, id: String(args[0]) });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

/** A store whose every call fails while `down` is true (an outage we control exactly). */
export function flaky<S extends SessionStore>(store: S): { store: S; setDown(down: boolean): void } {
  let down = false;
  const proxy = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function" || prop === "close" || typeof prop !== "string") return value;
      return (...args: unknown[]) => {
        if (down) return Promise.reject(new Error("connection refused (simulated)"));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, setDown: (d) => (down = d) };
}
