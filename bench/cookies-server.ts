/**
 * Server process for bench/cookies-jar.ts: every response sets three cookies (one of them
 * changing each time, like a rolling session id) and the body echoes the Cookie header length.
 */
import http from "node:http";

let n = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const body = Buffer.from(String((req.headers.cookie ?? "").length));
    res.writeHead(200, {
      "Content-Type": "text/plain",
      "Content-Length": body.length,
      "Set-Cookie": [`sid=${++n}; Path=/; HttpOnly`, "theme=dark; Path=/; Max-Age=86400", "lang=en; Path=/"],
    });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as { port: number }).port }));
process.on("disconnect", () => process.exit(0));
