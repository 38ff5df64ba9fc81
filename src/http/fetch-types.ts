/**
 * The public types of `session.fetch`, written without DOM-only names.
 *
 * `RequestInfo`, `HeadersInit` and `BodyInit` exist only in TypeScript's DOM library; a
 * Node project (lib without DOM, `types: ["node"]`) does not have them, so a declaration
 * that mentions them fails to compile there (TS2552), or silently becomes `any` under
 * `skipLibCheck`. `Request`, `RequestInit` and `Response` are declared by both the DOM
 * library and @types/node, so the types below compile in either kind of project.
 * tsconfig.build.json leaves DOM out of `lib`, so a DOM-only name in `src/` fails the build.
 */

/** What `session.fetch` accepts as its first argument (the DOM's `RequestInfo | URL`). */
export type FetchInput = string | URL | Request;

/** The headers of a fetch request (the DOM's `HeadersInit`). */
export type FetchHeadersInit = NonNullable<RequestInit["headers"]>;

/** The body of a fetch request (the DOM's `BodyInit`). */
export type FetchBodyInit = NonNullable<RequestInit["body"]>;

/** The fetch cache modes (the DOM's `RequestCache`; @types/node's `RequestInit` has no `cache`). */
export type FetchCacheMode = "default" | "force-cache" | "no-cache" | "no-store" | "only-if-cached" | "reload";

/** The second argument of `session.fetch`: `RequestInit`, with the cache mode the Cache feature honours. */
export interface FetchInit extends RequestInit {
  cache?: FetchCacheMode;
}

/** The type of `session.fetch`: a WHATWG fetch whose requests go through a session. */
export type SessionFetch = (input: FetchInput, init?: FetchInit) => Promise<Response>;
