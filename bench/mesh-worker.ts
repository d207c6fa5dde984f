// The upstream of bench/mesh.ts: a minimal HTTP worker on $PORT. GET → "ok"; POST → the number of
// body bytes it read (so a 4 MB upload is really received).
Bun.serve({
  port: Number(process.env.PORT),
  hostname: "0.0.0.0",
  async fetch(req) {
    if (req.method === "POST") return new Response(String((await req.arrayBuffer()).byteLength));
    return new Response("ok");
  },
});
