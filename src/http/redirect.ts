/**
 * libsoup's redirect rules (soup-session.c: SOUP_SESSION_WOULD_REDIRECT and
 * soup_session_redirect_message), kept as pure functions so they are easy to test.
 */
import { RedirectError } from "../errors.js";
import type { Message } from "./message.js";

export const MAX_RESTARTS = 20;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// libsoup's SOUP_METHOD_IS_SAFE.
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PROPFIND", "TRACE"]);

export function isRedirectStatus(status: number): boolean {
  return REDIRECT_STATUSES.has(status);
}

/**
 * Would the session follow this response? 303 always; 301/302 also for POST (which turns
 * into GET); otherwise only for safe methods, so a 307/308 to a PUT goes to the caller.
 */
export function wouldRedirect(msg: Message): boolean {
  if (!REDIRECT_STATUSES.has(msg.status)) return false;
  if (msg.status === 303) return true;
  if ((msg.status === 301 || msg.status === 302) && msg.method === "POST") return true;
  return SAFE_METHODS.has(msg.method);
}

/**
 * Resolves the Location header against the current URL or throws the libsoup errors. A
 * WebSocket handshake (`upgrade`) may also be sent on to a ws: or wss: URL.
 */
export function redirectTarget(msg: Message, upgrade = false): URL {
  const location = msg.responseHeaders.getOne("Location");
  if (location === null || location.trim() === "") {
    throw new RedirectError("REDIRECT_NO_LOCATION", `${msg.status} redirect without a Location header`);
  }
  let target: URL;
  try {
    target = new URL(location.trim(), msg.url);
  } catch {
    throw new RedirectError("REDIRECT_BAD_URI", "Redirect Location is not a valid URI");
  }
  const web = target.protocol === "http:" || target.protocol === "https:";
  const ws = upgrade && (target.protocol === "ws:" || target.protocol === "wss:");
  if (!web && !ws) {
    throw new RedirectError("REDIRECT_BAD_URI", `Redirect to unsupported scheme ${target.protocol}`);
  }
  // A fragment-less Location inherits the original fragment (RFC 9110 §10.2.2).
  if (target.hash === "" && msg.url.hash !== "") target.hash = msg.url.hash;
  return target;
}

const CREDENTIAL_HEADERS = ["Authorization", "Proxy-Authorization", "Cookie"];

/**
 * Points the message at the redirect target: method/body changes per status and removal
 * of credentials when the origin changes (credentials never cross origins).
 */
export function applyRedirect(msg: Message, target: URL): void {
  const toGet = (msg.status === 303 && msg.method !== "HEAD") || ((msg.status === 301 || msg.status === 302) && msg.method === "POST");
  if (toGet) {
    msg.method = "GET";
    msg.setRequestBody(null, null);
    msg.requestHeaders.delete("Content-Length");
    msg.requestHeaders.delete("Content-Type");
    msg.requestHeaders.delete("Content-Encoding");
    msg.requestHeaders.delete("Transfer-Encoding");
  }
  if (target.origin !== msg.url.origin) {
    for (const h of CREDENTIAL_HEADERS) msg.requestHeaders.delete(h);
  }
  msg.url = target;
}
