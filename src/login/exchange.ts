/**
 * One login, refresh or logout round trip (ProfileContext.exchange). The message skips the
 * credential feature (the profile sets its own headers: the refresh JWT, not the access
 * token), is marked `sensitiveBody` so the Logger never prints the password or the tokens in
 * the answer, jumps the queue (requests are waiting for it), passes the rate-limit gate of
 * its kind, and has its answer read with a cap: a hostile server cannot make us hold more.
 */
import { readUpTo } from "../http/body.js";
import type { Message } from "../http/message.js";
import { MessagePriority } from "../http/message.js";
import type { Session } from "../http/session.js";
import { CredentialFeature, parseJson } from "./credential-feature.js";
import { LoginFailedError } from "./errors.js";
import type { Exchange, ExchangeKind } from "./profile.js";
import type { LoginGate } from "./rate-limit.js";

/** Login/refresh answers are small; refuse to hold more than this. */
export const MAX_EXCHANGE_BYTES = 1024 * 1024;

export async function exchange(http: Session, msg: Message, kind: ExchangeKind, gate: LoginGate | null): Promise<Exchange> {
  msg.disableFeature(CredentialFeature);
  msg.sensitiveBody = true;
  msg.priority = MessagePriority.VERY_HIGH;
  gate?.check(kind);
  const peek = await readUpTo((await http.send(msg)).stream, MAX_EXCHANGE_BYTES);
  if (!peek.complete) {
    peek.stream.destroy();
    throw new LoginFailedError(`The ${kind} answer was larger than ${MAX_EXCHANGE_BYTES} bytes`, msg.status);
  }
  const limited = gate?.observe(msg.status, msg.responseHeaders, kind) ?? null;
  if (limited !== null) throw limited;
  return { status: msg.status, headers: msg.responseHeaders, json: parseJson(peek.bytes) };
}
