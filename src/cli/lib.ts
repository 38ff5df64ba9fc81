/**
 * The library's public entry points, loaded on demand: a command imports only what it
 * uses (`sessionkit sessions list` never loads undici, `realtime` never loads the login
 * profiles), which is most of the start-up time of a short command.
 */
export type Lib = typeof import("../index.js");
export type LoginLib = typeof import("../login/index.js");
export type RealtimeLib = typeof import("../realtime/index.js");

export const loadLib = (): Promise<Lib> => import("../index.js");
export const loadLogin = (): Promise<LoginLib> => import("../login/index.js");
export const loadRealtime = (): Promise<RealtimeLib> => import("../realtime/index.js");
