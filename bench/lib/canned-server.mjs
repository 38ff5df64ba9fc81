// The fallback peer for client benchmarks when nginx is not installed: a raw `net` server
// in its own process that answers every request head with one canned 200 "ok" response,
// written as a single pre-built buffer. It parses nothing but the blank line that ends a
// head (the benchmarks send GETs without bodies), so it costs far less per request than
// any client under test. It reports the number of connections it accepted when asked.
import net from "node:net";

const response = Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok");
const END = Buffer.from("\r\n\r\n");
let accepted = 0;
let requests = 0;

const server = net.createServer((socket) => {
  accepted++;
  socket.setNoDelay(true);
  // The tail of the previous chunk, so a "\r\n\r\n" split across two reads is still seen.
  let tail = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    const buf = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
    let n = 0;
    let at = buf.indexOf(END);
    let last = 0;
    while (at !== -1) {
      n++;
      last = at + 4;
      at = buf.indexOf(END, last);
    }
    requests += n;
    tail = buf.subarray(Math.max(last, buf.length - 3));
    if (n === 1) socket.write(response);
    else if (n > 1) socket.write(Buffer.concat(Array.from({ length: n }, () => response)));
  });
  socket.on("error", () => socket.destroy());
});
server.listen(0, "127.0.0.1", () => process.send?.({ port: server.address().port }));
process.on("message", (m) => {
  if (m === "stats") {
    const cpu = process.cpuUsage();
    process.send?.({ accepted, requests, cpuUs: cpu.user + cpu.system });
  }
});
process.on("disconnect", () => process.exit(0));
