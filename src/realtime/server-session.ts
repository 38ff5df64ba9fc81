/**
 * A session as the server holds it: identity, properties, the reliable channel and the
 * socket it is currently attached to (none while the client is reconnecting). Handlers
 * receive it as their second argument.
 */
import { inspect } from "node:util";
import type WebSocket from "ws";
import type { CloseReason } from "./close-reason.js";
import type { Channel } from "./channel.js";
import type { SessionProperties } from "./properties.js";
import type { Value } from "./protocol.js";

export type ServerSessionState = "CONNECTED" | "DISCONNECTED" | "CLOSED";

export interface ServerSessionOwner {
  closeSession(sessionId: string, reason?: CloseReason): Promise<boolean>;
}

export class ServerSession {
  readonly id: string;
  readonly principal: string;
  readonly properties: Readonly<SessionProperties>;
  state: ServerSessionState = "DISCONNECTED";
  /** The socket in use, or null while the client is away. */
  socket: WebSocket | null = null;
  /** Heard from the client (frame, ping or pong) since the last heartbeat tick. */
  heard = true;
  /** Heartbeat ticks in a row without a word from the client. */
  silentTicks = 0;
  keepAliveTimer: NodeJS.Timeout | undefined;
  readonly #tokenHash: string;
  readonly #channel: Channel;
  readonly #owner: ServerSessionOwner;

  constructor(init: {
    id: string;
    principal: string;
    properties: SessionProperties;
    tokenHash: string;
    channel: Channel;
    owner: ServerSessionOwner;
  }) {
    this.id = init.id;
    this.principal = init.principal;
    this.properties = Object.freeze({ ...init.properties });
    this.#tokenHash = init.tokenHash;
    this.#channel = init.channel;
    this.#owner = init.owner;
  }

  /** SHA-256 of the resume token (never the token itself). */
  get tokenHash(): string {
    return this.#tokenHash;
  }

  get channel(): Channel {
    return this.#channel;
  }

  /** Pushes a message to this session's client (kept for replay if it is reconnecting). */
  send(path: string, value: Value): void {
    this.#channel.send(path, value);
  }

  close(reason?: CloseReason): Promise<boolean> {
    return this.#owner.closeSession(this.id, reason);
  }

  [inspect.custom](): string {
    return `ServerSession { id: '${this.id}', principal: ${JSON.stringify(this.principal)}, state: '${this.state}' }`;
  }
}
