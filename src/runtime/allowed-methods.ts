// Which methods an HTTP app serves at a path, from its own route table (hono's app.routes), so
// that a request with another method is answered 405 with `Allow` rather than 404 (RFC 9110,
// 15.5.6). Routes for every method (middleware, catch-alls, mounted apps) say nothing about a
// path and are left out; HEAD is allowed wherever GET is (hono answers it with the GET handler).
import { PatternRouter } from "hono/router/pattern-router";

export interface RouteEntry {
  method: string;
  path: string;
}

export class AllowedMethods {
  private router: PatternRouter<string> | undefined;

  /** `routes` is read on first use (the app's routes are all added by then). */
  constructor(private readonly routes: () => readonly RouteEntry[]) {}

  /** The methods served at `path`, sorted (GET with HEAD); empty when no route matches it. */
  at(path: string): string[] {
    if (!this.router) {
      const router = new PatternRouter<string>();
      for (const { method, path } of this.routes())
        if (method !== "ALL") router.add("ALL", path, method.toUpperCase());
      this.router = router;
    }
    const [matches] = this.router.match("GET", path);
    const methods = new Set(matches.map(([method]) => method));
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  }
}

/** The message of a 405 answer. */
export function methodNotAllowedMessage(method: string, path: string, allowed: readonly string[]): string {
  return `method ${method} is not allowed on ${path}; it answers ${allowed.join(", ")}`;
}
