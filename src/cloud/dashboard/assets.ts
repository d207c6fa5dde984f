// The dashboard's static files, built into the binary (imported as text: `bun build --compile`
// inlines them): its stylesheet, its browser script, and uPlot's (the traffic charts). Served with a content hash in the ETag,
// cached for an hour, and readable without a session (they hold nothing about the cluster; the
// login page needs the stylesheet).
import { createHash } from "node:crypto";
import type { Hono } from "hono";
import uplot from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };
import script from "./assets/client.js" with { type: "text" };
import css from "./assets/dashboard.css" with { type: "text" };

const ASSETS: Record<string, { body: string; type: string }> = {
  "dashboard.css": { body: css, type: "text/css; charset=utf-8" },
  "dashboard.js": { body: script, type: "text/javascript; charset=utf-8" },
  // uPlot (MIT, github.com/leeoniya/uPlot): the traffic charts, 50 KB, no dependencies.
  "uplot.js": { body: uplot, type: "text/javascript; charset=utf-8" },
  "uplot.css": { body: uplotCss, type: "text/css; charset=utf-8" },
};

export function mountAssets(ui: Hono): void {
  for (const [name, asset] of Object.entries(ASSETS)) {
    const etag = `"${createHash("sha256").update(asset.body).digest("base64url").slice(0, 22)}"`;
    ui.get(`/assets/${name}`, (c) => {
      if (c.req.header("if-none-match") === etag) return c.body(null, 304, { etag });
      return c.body(asset.body, 200, {
        "content-type": asset.type,
        "cache-control": "private, max-age=3600",
        etag,
        "x-content-type-options": "nosniff",
      });
    });
  }
}
