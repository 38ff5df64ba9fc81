/**
 * `diagnostics_channel` events for the life of a message, named and shaped like undici's
 * `undici:request:*`, so tracing tools (OpenTelemetry instrumentations, APMs) can follow a
 * session's messages without a feature of their own. Publishing costs one `hasSubscribers`
 * check per event when nobody listens.
 *
 * | channel | when | payload |
 * | --- | --- | --- |
 * | `sessionkit:message:queued` | a message enters the session (once) | `{ message }` |
 * | `sessionkit:message:send` | before each attempt goes out (after the features' beforeSend) | `{ message, attempt }` |
 * | `sessionkit:message:headers` | the final response's headers are in | `{ message }` |
 * | `sessionkit:message:restarted` | the message is sent again | `{ message, reason }` |
 * | `sessionkit:message:done` | the caller read the body to its end | `{ message }` |
 * | `sessionkit:message:error` | the message failed | `{ message, error }` |
 *
 * `NODE_DEBUG=sessionkit` prints one short line per event on stderr (URLs redacted), like
 * `NODE_DEBUG=undici`.
 */
import diagnostics from "node:diagnostics_channel";
import { debuglog } from "node:util";
import type { Message } from "./message.js";
import { redactUrl } from "./redact.js";

export type RestartReason = "redirect" | "feature" | "retry";

export const channels = {
  queued: diagnostics.channel("sessionkit:message:queued"),
  send: diagnostics.channel("sessionkit:message:send"),
  headers: diagnostics.channel("sessionkit:message:headers"),
  restarted: diagnostics.channel("sessionkit:message:restarted"),
  done: diagnostics.channel("sessionkit:message:done"),
  error: diagnostics.channel("sessionkit:message:error"),
} as const;

export interface MessageEventPayload {
  message: Message;
  attempt?: number;
  reason?: RestartReason;
  error?: Error;
}

const debug = debuglog("sessionkit");

if (debug.enabled) {
  const line = (event: string) => (data: unknown) => {
    const { message: m, attempt, reason, error } = data as MessageEventPayload;
    const extra =
      attempt !== undefined
        ? ` attempt=${attempt}`
        : reason !== undefined
          ? ` reason=${reason}`
          : error !== undefined
            ? ` error=${(error as { code?: string }).code ?? error.name}`
            : "";
    debug(`${event} ${m.method} ${redactUrl(m.url)}${m.status ? ` ${m.status}` : ""}${extra}`);
  };
  for (const [name, ch] of Object.entries(channels)) ch.subscribe(line(name));
}
