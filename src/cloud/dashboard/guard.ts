// Who may see the dashboard: a browser with a live session (sessions.ts) in its cookie. A page
// without one is redirected to the login page; data (fragments, the live stream, logs) is answered
// 401. A request that changes state (login, logout) must come from a page of this same origin:
// the cookie is SameSite=Strict (a cross-site request does not carry it) and, in case a browser or
// a sibling subdomain gets around that, the request's Sec-Fetch-Site (sent by every current
// browser) must be same-origin, or failing that its Origin must be this host. A check of headers
// rather than a CSRF token: it needs no state in the pages or the server, and it also covers the
// login form (which has no session to bind a token to). A request with neither header is refused.
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { type DashboardSessions, SESSION_COOKIE } from "./sessions.ts";

export type Access = "page" | "data";

/** Whether the request reached the cloud over TLS (directly, or through a proxy that says so). */
export function overTls(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https";
}

export function sessionId(c: Context): string | undefined {
  return getCookie(c, SESSION_COOKIE);
}

export function requireSession(sessions: DashboardSessions, access: Access): MiddlewareHandler {
  return async (c, next) => {
    if (sessions.touch(sessionId(c))) {
      c.header("cache-control", "no-store");
      return next();
    }
    if (access === "page") {
      const next = c.req.path + (new URL(c.req.url).search || "");
      return c.redirect(`/ui/login?next=${encodeURIComponent(next)}`, 303);
    }
    return c.json({ error: "not logged in to the dashboard (log in at /ui/login)" }, 401);
  };
}

/** Why a state-changing request is not from this origin, or undefined when it is. */
export function crossSiteProblem(headers: {
  secFetchSite: string | undefined;
  origin: string | undefined;
  host: string | undefined;
}): string | undefined {
  const site = headers.secFetchSite;
  if (site !== undefined) return site === "same-origin" ? undefined : `Sec-Fetch-Site is ${site}`;
  const origin = headers.origin;
  if (origin === undefined) return "the request has neither Sec-Fetch-Site nor Origin";
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return `Origin ${JSON.stringify(origin.slice(0, 100))} is not a URL`;
  }
  return host === headers.host ? undefined : `Origin ${origin.slice(0, 100)} is not this host`;
}

export const sameOrigin: MiddlewareHandler = async (c, next) => {
  const problem = crossSiteProblem({
    secFetchSite: c.req.header("sec-fetch-site"),
    origin: c.req.header("origin"),
    host: c.req.header("host") ?? new URL(c.req.url).host,
  });
  if (problem) return c.text(`refused: not a request from the dashboard (${problem})`, 403);
  return next();
};

export function setSessionCookie(c: Context, id: string, maxAgeSeconds: number): void {
  setCookie(c, SESSION_COOKIE, id, {
    httpOnly: true,
    sameSite: "Strict",
    secure: overTls(c),
    path: "/",
    maxAge: maxAgeSeconds,
  });
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: overTls(c), httpOnly: true, sameSite: "Strict" });
}
