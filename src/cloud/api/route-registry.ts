// The cloud API's routes, each mounted together with its description: method, path, who may call
// it, the zod schemas of its query and body (the ones the route validates with), and its answers.
// The OpenAPI document (openapi.ts) is built from these descriptions, so a route cannot be served
// without being documented, and a documented route is one that is served. A route file takes an
// ApiRoutes and calls add() instead of hono's get()/post(); `levee ctl`, the dashboard and other
// clients read the document at GET /api/v1/openapi.json.
import type { Env, Hono } from "hono";
import type { H } from "hono/types";
import type { z } from "zod";

export type Method = "get" | "post" | "put" | "patch" | "delete";

/**
 * Who may call a route: `admin` (the admin token as Bearer), `node` (a node's MQTT credentials as
 * HTTP Basic), `admin-or-node` (either), `session` (a dashboard session's cookie, which logging in
 * with the admin token sets), `none` (anyone: the join carries its token in the body).
 */
export type Auth = "admin" | "node" | "admin-or-node" | "session" | "none";

/** A request or response body: JSON described by a zod schema, or another media type in words. */
export type BodySpec =
  | { json: z.ZodType; description?: string }
  | {
      contentType: string | readonly string[];
      description: string;
      /** Its JSON Schema, made when the document is first asked for. */
      schema?: () => Record<string, unknown>;
    };

/** An answer: its description, and the body when it has one worth describing. */
export type ResponseSpec =
  | string
  | { description: string; body?: BodySpec; headers?: Record<string, string> };

export interface RouteSpec<P extends string = string> {
  method: Method;
  /** A hono path pattern (`/nodes/:name`), relative to where the ApiRoutes is mounted. */
  path: P;
  summary: string;
  description?: string;
  /** The group it is listed under in the document (a tag). */
  tag: string;
  auth: Auth;
  /** What each path parameter is (every `:name` of the path is listed, described or not). */
  params?: Record<string, string>;
  /** The query parameters: a zod object whose fields are the parameters. */
  query?: z.ZodObject;
  body?: BodySpec;
  /** The answers besides the errors every route may give (401, 400, 413 and 404 are added). */
  responses: Record<number, ResponseSpec>;
}

/** A route as the document lists it: its spec with the full path. */
export type DocumentedRoute = RouteSpec & { fullPath: string };

/** Where the routes' descriptions are collected, shared by every ApiRoutes of one app. */
export class RouteRegistry {
  private readonly list: DocumentedRoute[] = [];

  get routes(): readonly DocumentedRoute[] {
    return this.list;
  }

  /** Records a route; a second route with the same method and path is a bug. */
  record(spec: RouteSpec, fullPath: string): void {
    const clash = this.list.find((r) => r.method === spec.method && r.fullPath === fullPath);
    if (clash) throw new Error(`route ${spec.method.toUpperCase()} ${fullPath} is described twice`);
    this.list.push({ ...spec, fullPath });
  }

  /** Routes on `app`, whose paths in the served app start with `base` (e.g. "/api/v1"). */
  on(app: Hono, base: string): ApiRoutes {
    return new ApiRoutes(app, base, "", this);
  }
}

/** Mounts routes on one hono app and records each one's description. */
export class ApiRoutes<E extends Env = Env> {
  constructor(
    private readonly app: Hono,
    private readonly base: string,
    private readonly prefix: string,
    private readonly registry: RouteRegistry,
  ) {}

  /** Serves `handlers` (middleware first) at the spec's method and path, and documents it. */
  add<P extends string>(spec: RouteSpec<P>, ...handlers: H<E, NoInfer<P>>[]): void {
    const path = joinPath(this.prefix, spec.path);
    this.registry.record(spec, joinPath(this.base, path));
    this.app.on(spec.method.toUpperCase(), [path], ...(handlers as unknown as H[]));
  }

  /**
   * Documents a route that shared code mounts itself (the health endpoints, which every agent
   * serves): the test that compares the served routes with the document keeps the two in step.
   */
  mounted(spec: RouteSpec): void {
    this.registry.record(spec, joinPath(this.base, joinPath(this.prefix, spec.path)));
  }

  /**
   * The routes under `prefix` (e.g. "/artifacts"), whose handlers see the variables of `E2` (set
   * by their middleware, e.g. the caller).
   */
  under<E2 extends Env = E>(prefix: string): ApiRoutes<E2> {
    return new ApiRoutes<E2>(this.app, this.base, joinPath(this.prefix, prefix), this.registry);
  }
}

/** "/a" + "/b" = "/a/b"; "/a" + "/" = "/a"; "" + "/" = "/". */
export function joinPath(base: string, path: string): string {
  const joined = `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
  return joined.length > 1 ? joined.replace(/\/+$/, "") : joined;
}
