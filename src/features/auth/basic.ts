/**
 * HTTP Basic (RFC 7617). `user:pass` is sent base64-encoded in UTF-8, which is what RFC
 * 7617's `charset="UTF-8"` asks for and what current browsers and curl send anyway. A
 * server that asks for Latin-1 (`charset="ISO-8859-1"`, as some legacy servers do) gets
 * Latin-1 when every character fits in it. Basic sends the password itself, so it is the
 * weakest scheme and is picked only when nothing better is offered.
 */
import type { Message } from "../../http/message.js";
import { Auth } from "./auth.js";

export class AuthBasic extends Auth {
  static override readonly schemeName = "Basic";
  static override readonly strength = 10;

  getAuthorization(_msg: Message): string | null {
    if (!this.isAuthenticated) return null;
    const pair = `${this.username}:${this.password}`;
    const charset = (this.params.charset ?? "").toLowerCase();
    const latin1 = (charset === "iso-8859-1" || charset === "latin1") && /^[\u0000-\u00ff]*$/.test(pair);
    return `Basic ${Buffer.from(pair, latin1 ? "latin1" : "utf8").toString("base64")}`;
  }
}
