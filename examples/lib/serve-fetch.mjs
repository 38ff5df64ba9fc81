/**
 * Serves a Web-standard `(Request) => Response` handler (Hono's `app.fetch`) on node:http,
 * so the Hono example needs nothing beyond hono itself. In an application use
 * `@hono/node-server`, which does this fully (streaming, abort, every header form).
 */
import http from "node:http";

export async function serveFetch(fetchHandler) {
  const server = http.createServer(async (req, res) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) headers.append(name, v);
    }
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method,
      headers,
      body: hasBody ? req : undefined,
      duplex: "half",
    });
    const response = await fetchHandler(request);
    const out = {};
    response.headers.forEach((value, name) => {
      if (name !== "set-cookie") out[name] = value;
    });
    const cookies = response.headers.getSetCookie();
    if (cookies.length > 0) out["set-cookie"] = cookies;
    res.writeHead(response.status, out).end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}
