/**
 * The credential session's request path: send through the HTTP session, and when the
 * answer might say "token expired" only in its body (atproto's 400 `{"error":"ExpiredToken"}`,
 * astrometry.net's 200 `{"status":"error"}`), look at that body. Small bodies are buffered
 * and either handed back unchanged or, when they do say so, the message is sent once more:
 * the feature's next beforeSend then renews the credentials (single flight) first.
 */
import { Readable } from "node:stream";
import type { Message } from "../http/message.js";
import type { SendOptions, Session } from "../http/session.js";
import { peekBody } from "./body-peek.js";
import type { CredentialFeature } from "./credential-feature.js";
import { parseJson } from "./exchange.js";
import type { CredentialProfile } from "./profile.js";

export interface SendPath {
  http: Session;
  feature: CredentialFeature;
  profile: CredentialProfile<object, unknown>;
  /** Largest body inspected. */
  maxInspect: number;
}

export async function sendWithExpiryRetry(path: SendPath, msg: Message, options: SendOptions): Promise<Readable> {
  const { http, feature, profile } = path;
  for (;;) {
    const body = (await http.send(msg, options)).stream;
    const tag = feature.peekTag(msg);
    if (tag === undefined || tag.sentGen < 0 || profile.expiredByBody === undefined) return body;
    if (!(profile.inspectBody?.(msg.status, msg.responseHeaders) ?? false)) return body;
    const peek = await peekBody(body, path.maxInspect);
    if (!peek.complete) return peek.stream;
    const expired = profile.expiredByBody(msg.status, msg.responseHeaders, parseJson(peek.bytes));
    // Once per message, and only when its body can be sent again.
    if (expired && !tag.retried && msg.bodyReplayable) {
      tag.retried = true;
      tag.renewFor = tag.sentGen;
      continue;
    }
    return Readable.from([peek.bytes], { objectMode: false });
  }
}
