/**
 * The coordinators' drivers (better-sqlite3, redis) are optional peer dependencies. They
 * are loaded when a coordinator is constructed, not when its module is imported, so a
 * missing one is reported by the coordinator that needs it, naming the package to install
 * (as the stores do, src/stores/driver.ts), instead of a bare ERR_MODULE_NOT_FOUND.
 * `require`: both drivers ship CommonJS, and it keeps the constructors synchronous.
 */
import { createRequire } from "node:module";
import { CoordinatorUnavailableError } from "../coordinator.js";

const requireFromHere = createRequire(import.meta.url);

export function loadDriver<T>(pkg: string, who: string): T {
  try {
    return requireFromHere(pkg) as T;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const missing = (code === "MODULE_NOT_FOUND" || code === "ERR_MODULE_NOT_FOUND") && String((error as Error).message).includes(`'${pkg}'`);
    throw new CoordinatorUnavailableError(
      missing
        ? `${who} needs the optional dependency ${pkg}, which is not installed (npm install ${pkg})`
        : `${who} could not load its driver ${pkg} (reinstall it: npm install ${pkg})`,
      { cause: error },
    );
  }
}
