/**
 * Shared Redis availability check for tests.
 *
 * Tests that need Redis call `redisUrlOrSkip()` once at module load. When Redis answers,
 * it returns the URL. When it does not: outside CI the test is skipped with a visible
 * message; under CI=true (where .ci/run guarantees a running Redis) it fails loudly,
 * so a CI run can never silently skip the Redis suite.
 */
import net from "node:net";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

function ping(url: string, timeoutMs = 1000): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (d) => done(d.toString().startsWith("+PONG") || d.toString().startsWith("-NOAUTH")));
  });
}

/**
 * Resolves to `{ url }` when Redis is reachable, or `{ skip: message }` when it is not and
 * we are not in CI. Throws under CI=true when Redis is unreachable.
 */
export async function redisAvailability(): Promise<{ url: string; skip: false } | { url: string; skip: string }> {
  const ok = await ping(REDIS_URL);
  if (ok) return { url: REDIS_URL, skip: false };
  const message = `Redis is not reachable at ${REDIS_URL}: skipping Redis tests (set REDIS_URL or start redis-server)`;
  if (process.env.CI === "true") {
    throw new Error(`CI=true but ${message.split(":")[0]}; .ci/run must start Redis`);
  }
  console.warn(`\n*** ${message} ***\n`);
  return { url: REDIS_URL, skip: message };
}
