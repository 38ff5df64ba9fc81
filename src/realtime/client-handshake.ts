/**
 * The client half of opening a socket: connect through the HTTP Session, send hello or
 * resume, and wait for the server's answer. Failures are sorted into two kinds, because
 * the caller treats them differently: the server *refused* (a close reason; retrying
 * elsewhere will not help) or the transport failed (try again, maybe another URL).
 */
import type { Session } from "../http/session.js";
import type { WebsocketConnection } from "../http/websocket-connection.js";
import { CloseReason, closeCodeOf, closeReasonFromCode } from "./close-reason.js";
import { parseFrame, SUBPROTOCOL, type ResumedFrame, type WelcomeFrame } from "./protocol.js";
import { openTransport } from "./transport.js";

export class HandshakeFailure extends Error {
  /** Set when the server refused with a reason; undefined for transport failures. */
  readonly reason: CloseReason | undefined;
  readonly timedOut: boolean;
  /** Set when the server answered the upgrade with an HTTP status instead of 101. */
  readonly answer: UpgradeAnswer | undefined;
  constructor(message: string, reason?: CloseReason, timedOut = false, cause?: unknown, answer?: UpgradeAnswer) {
    super(message, cause === undefined ? undefined : { cause });
    this.reason = reason;
    this.timedOut = timedOut;
    this.answer = answer;
  }
}

export interface UpgradeAnswer {
  status: number;
  statusText: string;
  body: string;
}

const MAX_BODY_TEXT = 300;

/**
 * What the server answered when the HTTP session's WebSocket upgrade failed with a
 * status (`NOT_WEBSOCKET`: the error's `msg` holds status, reason phrase and body), or
 * undefined for any other failure.
 */
export function upgradeAnswerOf(err: unknown): UpgradeAnswer | undefined {
  const msg = (err as { msg?: { status?: unknown; reasonPhrase?: unknown; responseBody?: unknown } } | null)?.msg;
  if (!msg || typeof msg.status !== "number" || msg.status < 200) return undefined;
  const raw = msg.responseBody instanceof Uint8Array ? Buffer.from(msg.responseBody.subarray(0, 4 * MAX_BODY_TEXT)).toString("utf8") : "";
  // Shown in an error message: one line, no control characters, bounded.
  const body = raw
    .replace(/[\u0000-\u001f\u007f]+/g, " ")
    .trim()
    .slice(0, MAX_BODY_TEXT);
  return { status: msg.status, statusText: typeof msg.reasonPhrase === "string" ? msg.reasonPhrase.slice(0, 100) : "", body };
}

/** A URL as it may appear in a message: scheme, host, port and path only. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

export interface OpenedSocket {
  conn: WebsocketConnection;
  answer: WelcomeFrame | ResumedFrame;
  /**
   * Frames that arrived after the answer (the server replays right behind it, often in
   * the same TCP read). Calling this stops the holding and returns them, in order.
   */
  takeEarlyFrames(): Array<[data: Uint8Array | string, isBinary: boolean]>;
}

export async function openSession(
  http: Session,
  url: string,
  first: string,
  timeoutMs: number,
  cancel: AbortSignal,
  maxValueDepth?: number,
): Promise<OpenedSocket> {
  const signal = AbortSignal.any([cancel, AbortSignal.timeout(timeoutMs)]);
  let conn: WebsocketConnection;
  try {
    conn = await openTransport(http, url, [SUBPROTOCOL], signal);
  } catch (err) {
    const answer = upgradeAnswerOf(err);
    const what = answer ? `The server answered the upgrade with ${answer.status}` : "Could not connect";
    throw new HandshakeFailure(`${what} (${shownUrl(url)})`, undefined, signal.aborted && !cancel.aborted, err, answer);
  }
  // Hold everything that follows the answer until the session has attached its listener:
  // 'message' events without a listener are lost for good.
  const early: Array<[Uint8Array | string, boolean]> = [];
  let answered = false;
  const hold = (data: Uint8Array | string, isBinary: boolean) => {
    if (answered) early.push([data, isBinary]);
  };
  try {
    const answer = await awaitAnswer(
      conn,
      first,
      signal,
      () => {
        answered = true;
        conn.on("message", hold);
      },
      maxValueDepth,
    );
    return {
      conn,
      answer,
      takeEarlyFrames: () => {
        conn.off("message", hold);
        return early.splice(0);
      },
    };
  } catch (err) {
    conn.off("message", hold);
    if (cancel.aborted && conn.state === "OPEN") {
      // The application closed the session mid-handshake: say so, or the server (whose
      // check may still be running) would keep a session for nobody until it expires.
      const timer = setTimeout(() => conn.terminate(), 2000).unref();
      void conn.close(closeCodeOf(CloseReason.CLOSED_BY_CLIENT), CloseReason.CLOSED_BY_CLIENT.name).then(() => clearTimeout(timer));
    } else {
      conn.terminate();
    }
    throw err;
  }
}

function awaitAnswer(
  conn: WebsocketConnection,
  first: string,
  signal: AbortSignal,
  onAnswer: () => void,
  maxValueDepth: number | undefined,
): Promise<WelcomeFrame | ResumedFrame> {
  return new Promise((resolve, reject) => {
    const done = (fn: () => void) => {
      conn.off("message", onMessage);
      conn.off("close", onClose);
      signal.removeEventListener("abort", onAbort);
      fn();
    };
    const onMessage = (data: Uint8Array | string, isBinary: boolean) => {
      let frame;
      try {
        if (isBinary || typeof data !== "string") throw new Error("binary frame");
        frame = parseFrame(data, { maxValueDepth });
      } catch {
        done(() => reject(new HandshakeFailure("The server's answer was not understood", CloseReason.HANDSHAKE_ERROR)));
        return;
      }
      if (frame.t === "welcome" || frame.t === "resumed") {
        onAnswer();
        done(() => resolve(frame));
      } else done(() => reject(new HandshakeFailure("The server's answer was not understood", CloseReason.HANDSHAKE_ERROR)));
    };
    const onClose = (code: number) => {
      // 1009: the hello itself was over the server's maxMessageSize (ws closes before we
      // could): a refusal, not a network failure, so no retry.
      const reason = closeReasonFromCode(code) ?? (code === 1009 ? CloseReason.MESSAGE_TOO_LARGE : undefined);
      done(() => reject(new HandshakeFailure(reason ? reason.message : `The socket closed (${code}) during the handshake`, reason)));
    };
    const onAbort = () => {
      done(() => reject(new HandshakeFailure("The handshake timed out", undefined, true)));
    };
    conn.on("message", onMessage);
    conn.on("close", onClose);
    signal.addEventListener("abort", onAbort, { once: true });
    conn.send(first).catch(() => {
      /* the 'close' that follows reports it */
    });
  });
}
