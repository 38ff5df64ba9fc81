/**
 * The client half of the server-session examples: one sessionkit `Session` with a
 * CookieJar visits a URL three times, as a browser would, and returns the answers.
 */
import { CookieJar, Message, Session } from "sessionkit";

export async function visitThreeTimes(url) {
  const client = new Session({ features: [new CookieJar()] });
  try {
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(new TextDecoder().decode(await client.sendAndRead(new Message("GET", url))));
    return answers;
  } finally {
    await client.close();
  }
}
