/**
 * astrometry.net with an API key from the argument, a key file or ASTROMETRY_API_KEY. No
 * request is made until the first real call; the session key is fetched right before it
 * and renewed (once per request) if the server forgets it.
 *
 *   ASTROMETRY_API_KEY=yourkey npx tsx examples/login-astrometry.ts
 */
import { ApiKeySession } from "../src/login/index.js";

await using nova = new ApiKeySession({ keyLocation: "~/.astrometry_api_key" });
console.log(`API key from the ${nova.keySource}; logged in: ${nova.loggedIn}`); // false: lazy

const answer = await nova.call<{ status: string; jobs?: number[] }>("myjobs/");
console.log("logged in:", nova.loggedIn, "jobs:", answer.jobs ?? []);
