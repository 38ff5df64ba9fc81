/**
 * The client half of opening a socket: connect through the HTTP Session, send hello or
 * resume, and wait for the server's answer. Failures are sorted into two kinds, because
 * the caller treats them differently: the server *refused* (a close reason; retrying
 * elsewhere will not help) or the transport failed (try again, maybe another URL).
 */
import type { Session } from "../http/session.js";
import type { WebsocketConnection } from "../http/websocket-connection.js";
import { CloseReason, closeReasonFromCode } from "./close-reason.js";
import { parseFrame, SUBPROTOCOL, type ResumedFrame, type WelcomeFrame } from "./protocol.js";
import { openTransport } from "./transport.js";

export class HandshakeFailure extends Error {
  /** Set when the server refused with a reason; undefined for transport failures. */
  readonly reason: CloseReason | undefined;
  readonly timedOut: boolean;
  constructor(message: string, reason?: CloseReason, timedOut = false, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.reason = reason;
    this.timedOut = timedOut;
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

export async function openSession(http: Session, url: string, first: string, timeoutMs: number, cancel: AbortSignal): Promise<OpenedSocket> {
  const signal = AbortSignal.any([cancel, AbortSignal.timeout(timeoutMs)]);
  let conn: WebsocketConnection;
  try {
    conn = await openTransport(http, url, [SUBPROTOCOL], signal);
  } catch (err) {
    throw new HandshakeFailure(`Could not connect to ${url}`, undefined, signal.aborted && !cancel.aborted, err);
  }
  // Hold everything that follows the answer until the session has attached its listener:
  // 'message' events without a listener are lost for good.
  const early: Array<[Uint8Array | string, boolean]> = [];
  let answered = false;
  const hold = (data: Uint8Array | string, isBinary: boolean) => {
    if (answered) early.push([data, isBinary]);
  };
  try {
    const answer = await awaitAnswer(conn, first, signal, () => {
      answered = true;
      conn.on("message", hold);
    });
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
    conn.terminate();
    throw err;
  }
}

function awaitAnswer(conn: WebsocketConnection, first: string, signal: AbortSignal, onAnswer: () => void): Promise<WelcomeFrame | ResumedFrame> {
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
        frame = parseFrame(data);
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
