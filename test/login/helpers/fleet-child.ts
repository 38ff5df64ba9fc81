/**
 * One process of a fleet that shares one saved atproto session through a coordinator
 * (forked by fleet-runner.ts with tsx). Talks over IPC:
 *
 *   ← { cmd: "setup", setup: FleetSetup }    → { type: "ready" }   (again: replaces the session)
 *   ← { cmd: "burst", n }                    → { type: "done", result: BurstResult }
 *   ← { cmd: "close" }                       → exits
 *
 * With `setup.hold`, the profile's refresh never reaches the network: it reports
 * { type: "holding" } and waits forever, holding the coordinator's lock (and extending its
 * lease) until the parent kills the process — a lock holder that crashes mid-refresh.
 */
import { Message } from "../../../src/http/message.js";
import { Session } from "../../../src/http/session.js";
import { AtprotoProfile, type AtprotoState } from "../../../src/login/atproto-profile.js";
import { CredentialSession } from "../../../src/login/credential-session.js";
import type { ProfileContext } from "../../../src/login/profile.js";
import type { CredentialCoordinator } from "../../../src/login/coordinator.js";
import { openBackend, type BackendSpec } from "./fleet-backends.js";

export interface FleetSetup {
  /** null: no coordination (today's single-process behaviour). */
  backend: BackendSpec | null;
  key: string;
  entryway: string;
  /** The saved session every process starts from (imported, no network). */
  sessionString: string;
  leaseMs: number;
  hold?: boolean;
}

export interface BurstResult {
  ok: number;
  failed: number;
  /** Distinct error messages (codes first), for the assertion message. */
  errors: string[];
  /** Session events seen since setup (IMPORT excluded). */
  events: string[];
  ms: number;
  /** CPU time (user + system) this process spent on the burst, ms. */
  cpuMs: number;
}

class HoldingProfile extends AtprotoProfile {
  override async refreshSession(_ctx: ProfileContext, _state: AtprotoState): Promise<AtprotoState> {
    process.send!({ type: "holding" });
    return new Promise<AtprotoState>(() => undefined);
  }
}

// One HTTP session for the life of the process (a new setup installs a new credential
// session on it), and one coordinator per backend: connections stay warm between setups.
const http = new Session({ proxyResolver: null, maxConnsPerHost: 16 });
const coordinators = new Map<string, CredentialCoordinator>();
let session: CredentialSession<object, AtprotoState> | null = null;
let pingUrl = "";
const events: string[] = [];

function coordinatorFor(spec: BackendSpec): CredentialCoordinator {
  const id = JSON.stringify(spec);
  let c = coordinators.get(id);
  if (c === undefined) coordinators.set(id, (c = openBackend(spec)));
  return c;
}

async function setup(s: FleetSetup): Promise<void> {
  await session?.close();
  events.length = 0;
  const profile = s.hold ? new HoldingProfile(s.entryway) : new AtprotoProfile(s.entryway);
  session = new CredentialSession(profile, {
    session: http,
    coordination: s.backend === null ? undefined : { coordinator: coordinatorFor(s.backend), key: s.key, leaseMs: s.leaseMs },
  });
  await session.login({ sessionString: s.sessionString });
  session.onSessionChange((event) => {
    events.push(event);
  });
  pingUrl = `${s.sessionString.split(":::")[4]}/xrpc/com.example.ping`;
}

async function one(): Promise<void> {
  const msg = new Message("GET", pingUrl);
  msg.requestHeaders.set("Accept", "application/json");
  const bytes = await session!.sendAndRead(msg);
  const body = JSON.parse(Buffer.from(bytes).toString("utf8")) as { ok?: boolean };
  if (msg.status !== 200 || body.ok !== true) throw new Error(`HTTP ${msg.status}`);
}

async function burst(n: number): Promise<BurstResult> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const settled = await Promise.allSettled(Array.from({ length: n }, one));
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const errors = new Set<string>();
  for (const r of settled) {
    if (r.status === "rejected") {
      const e = r.reason as { code?: string; message?: string };
      errors.add(`${e.code ?? "?"}: ${e.message ?? String(e)}`);
    }
  }
  const ok = settled.filter((r) => r.status === "fulfilled").length;
  return { ok, failed: n - ok, errors: [...errors], events: [...events], ms, cpuMs: (used.user + used.system) / 1000 };
}

// The parent may be gone (it failed and exited): then there is nobody to answer.
const reply = (m: object) => {
  if (process.connected) process.send!(m);
};

process.on("message", (m: { cmd: string; setup?: FleetSetup; n?: number }) => {
  if (m.cmd === "setup") {
    void setup(m.setup!).then(
      () => reply({ type: "ready" }),
      (error: unknown) => reply({ type: "error", message: String(error) }),
    );
  } else if (m.cmd === "burst") {
    void burst(m.n!).then((result) => reply({ type: "done", result }));
  } else if (m.cmd === "close") {
    void (async () => {
      await session?.close();
      await http.close();
      for (const c of coordinators.values()) await c.close();
      process.exit(0);
    })();
  }
});
// An orphan (the test died) must not linger.
process.on("disconnect", () => process.exit(0));
