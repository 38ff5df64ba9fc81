/**
 * A persistent cookie or HSTS store could not be opened, read or written
 * (`STORE_UNAVAILABLE`): the package's one StoreUnavailableError (see src/errors.ts).
 * Messages name the file, never a cookie value.
 */
export { StoreUnavailableError } from "../../errors.js";
