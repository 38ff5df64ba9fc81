// A tiny HTTP server run in its own process for client benchmarks, so the server's work
// does not share an event loop with the client being measured.
import http from "node:http";
const body = Buffer.from("hello world, this is a small body\n");
const server = http.createServer((req, res) => {
  if (req.url.startsWith("/big")) {
    // Streams `n` MiB of zeros for the splice memory test.
    const mib = Number(new URL(req.url, "http://x").searchParams.get("mib") ?? 1024);
    const chunk = Buffer.alloc(1024 * 1024);
    let left = mib;
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": String(mib * 1024 * 1024) });
    const pump = () => {
      while (left > 0) {
        left--;
        if (!res.write(chunk)) return res.once("drain", pump);
      }
      res.end();
    };
    return pump();
  }
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => process.send?.({ port: server.address().port }));
process.on("disconnect", () => process.exit(0));
