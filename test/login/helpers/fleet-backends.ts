/**
 * The coordinator backends the coordinator tests run over: memory, a SQLite file in a tmp
 * dir, and real Redis (REDIS_URL, a unique key prefix per handle set). `make()` returns two
 * handles on one backend, as two processes would hold (SQLite: two connections to one file).
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CredentialCoordinator } from "../../../src/login/coordinator.js";
import { MemoryCoordinator } from "../../../src/login/coordinators/memory.js";
import { RedisCoordinator } from "../../../src/login/coordinators/redis.js";
import { SqliteCoordinator } from "../../../src/login/coordinators/sqlite.js";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** A tmp dir for SQLite files, removed by `cleanup()`. */
export function tmpDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "sk-coord-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What a child process needs to open the same backend (see fleet-child.ts). */
export type BackendSpec = { kind: "sqlite"; path: string } | { kind: "redis"; url: string; prefix: string };

export function openBackend(spec: BackendSpec): CredentialCoordinator {
  return spec.kind === "sqlite" ? new SqliteCoordinator({ path: spec.path }) : new RedisCoordinator({ url: spec.url, prefix: spec.prefix });
}

export function newSpec(kind: "sqlite" | "redis", dir: string): BackendSpec {
  return kind === "sqlite" ? { kind, path: join(dir, `${randomUUID()}.db`) } : { kind, url: REDIS_URL, prefix: `sk-test:${randomUUID()}:` };
}

export function backends(dir: () => string): Record<string, () => [CredentialCoordinator, CredentialCoordinator]> {
  return {
    memory: () => {
      const m = new MemoryCoordinator();
      return [m, m];
    },
    sqlite: () => {
      const spec = newSpec("sqlite", dir());
      return [openBackend(spec), openBackend(spec)];
    },
    redis: () => {
      const spec = newSpec("redis", dir());
      return [openBackend(spec), openBackend(spec)];
    },
  };
}
