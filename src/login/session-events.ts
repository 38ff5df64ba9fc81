/**
 * Session change events (the atproto SDK's `on_session_change`). Listeners may be async and
 * are awaited, in the order they were added, before the call that caused the change
 * returns, so an application that saves the session string on CREATE and REFRESH never
 * holds a saved string older than the tokens in use.
 */
export const SessionEvent = {
  /** A session string was imported (no network). */
  IMPORT: "IMPORT",
  /** A login created a new session. */
  CREATE: "CREATE",
  /** The tokens were refreshed (and the refresh token rotated, when the service does). */
  REFRESH: "REFRESH",
  /**
   * Another process sharing this session (through a coordinator) refreshed it or logged in:
   * this process adopted the new tokens. That process already said REFRESH or CREATE.
   */
  SYNC: "SYNC",
  /** Refresh is impossible: the application must log in again. */
  EXPIRED: "EXPIRED",
  /** The session was ended by logout(). */
  LOGOUT: "LOGOUT",
} as const;
export type SessionEventName = (typeof SessionEvent)[keyof typeof SessionEvent];

/**
 * What a listener receives. `sessionString` is the string to persist (null after EXPIRED
 * and LOGOUT: delete the saved one). It is a secret, so it is kept out of inspect/JSON.
 */
export class SessionChange {
  readonly event: SessionEventName;
  /** Public facts about the session (e.g. handle, did, endpoint); empty when it ended. */
  readonly info: Readonly<Record<string, string>>;
  readonly #sessionString: string | null;

  constructor(event: SessionEventName, info: Record<string, string>, sessionString: string | null) {
    this.event = event;
    this.info = Object.freeze({ ...info });
    this.#sessionString = sessionString;
  }

  get sessionString(): string | null {
    return this.#sessionString;
  }

  toJSON(): { event: SessionEventName; info: Readonly<Record<string, string>> } {
    return { event: this.event, info: this.info };
  }

  toString(): string {
    return `SessionChange { ${this.event} ${JSON.stringify(this.info)} }`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

export type SessionChangeListener = (event: SessionEventName, change: SessionChange) => void | Promise<void>;

/**
 * Runs every listener in order, awaiting each. All run even if one throws; then the first
 * error is thrown, so a failed save is not swallowed: the call that caused the change
 * rejects with it.
 */
export async function notifyListeners(listeners: readonly SessionChangeListener[], change: SessionChange): Promise<void> {
  let first: { error: unknown } | null = null;
  for (const listener of [...listeners]) {
    try {
      await listener(change.event, change);
    } catch (error) {
      first ??= { error };
    }
  }
  if (first !== null) throw first.error;
}
