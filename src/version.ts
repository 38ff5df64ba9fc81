/** The package version, used in the default User-Agent (`sessionkit/VERSION`). */
export const VERSION = "0.1.0";
