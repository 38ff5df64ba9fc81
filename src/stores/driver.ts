/**
 * Optional store drivers (better-sqlite3, redis) are peer dependencies the application
 * may not have installed. They are loaded when a store is constructed, never when its
 * module is imported, so a missing driver is reported by the store that needs it, naming
 * the package to install, instead of a bare `ERR_MODULE_NOT_FOUND` from the import.
 *
 * `require` (through `createRequire`), not `import()`: both drivers ship CommonJS, and a
 * synchronous load keeps the store constructors synchronous.
 */
import { createRequire } from "node:module";
import { StoreUnavailableError } from "../server/errors.js";

const requireFromHere = createRequire(import.meta.url);

/**
 * Loads `pkg` for `store`, or throws `StoreUnavailableError` (`STORE_UNAVAILABLE`) whose
 * message names the package and the command that installs it. The cause is kept.
 */
export function loadDriver<T>(pkg: string, store: string): T {
  try {
    return requireFromHere(pkg) as T;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const missing = (code === "MODULE_NOT_FOUND" || code === "ERR_MODULE_NOT_FOUND") && String((error as Error).message).includes(`'${pkg}'`);
    throw new StoreUnavailableError(
      missing
        ? `${store} needs the optional dependency ${pkg}, which is not installed (npm install ${pkg})`
        : `${store} could not load its driver ${pkg} (reinstall it: npm install ${pkg})`,
      { cause: error },
    );
  }
}
