// The small client of the cloud API that every `levee ctl` subcommand uses: where the server is
// (--server, LEVEE_SERVER, the context's server (contexts-file.ts), <data-dir>/api.url,
// http://127.0.0.1:7400), which token to send (--token/LEVEE_TOKEN, --token-file/LEVEE_TOKEN_FILE,
// the context's token file, <data-dir>/admin.token), and how failures
// read: one line with the API's error message, plus one `  <path>: <message>` line per issue of a
// 400. Input the API refuses as bad (400, 413, 422: an invalid manifest) exits 2, as bad flags do;
// every other failure exits 1.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultDataDir } from "../../config/defaults.ts";
import type { Options } from "../../config/schema.ts";
import { ExitError, UsageError } from "../../runtime/errors.ts";
import { describeFsError } from "../../runtime/fs-errors.ts";
import { DEFAULT_PORTS } from "../../runtime/host-port.ts";
import { type ActiveContext, activeContext } from "./contexts-file.ts";
import type { ApiIssue } from "./types.ts";

export const DEFAULT_SERVER = `http://127.0.0.1:${DEFAULT_PORTS.api}`;
export const API_URL_FILE = "api.url";
export const ADMIN_TOKEN_FILE = "admin.token";
const REQUEST_TIMEOUT_MS = 15_000;

export type CtlOptions = Pick<
  Options,
  | "server"
  | "context"
  | "token"
  | "tokenFile"
  | "dataDir"
  | "output"
  | "filename"
  | "wait"
  | "timeout"
  | "ttl"
  | "uses"
  | "outDir"
  | "name"
  | "artifacts"
  | "node"
  | "namespace"
  | "dryRun"
  | "staged"
  | "toGeneration"
>;

/** HTTP statuses that mean "your input is bad": the command exits 2, like a bad flag. */
const BAD_INPUT_STATUSES = new Set([400, 413, 422]);

/** A failure of the server or the API: a one-line message, optional detail lines, exit 1 (or 2). */
export class CtlFailure extends ExitError {
  constructor(
    message: string,
    readonly details: string[] = [],
    /** The server could not be reached: trying again later may work. */
    readonly unreachable = false,
    /** 2 when the API refused the input itself (an invalid manifest), else 1. */
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

export interface Target {
  server: string;
  token: string | undefined;
  /** Where the token came from, e.g. "--token-file /x" (for a refused token). */
  tokenSource: string;
  /** Where a token was looked for and why none was found (for a 401 without a token). */
  tokenSearch: string;
}

export function resolveTarget(options: CtlOptions, env: Record<string, string | undefined>): Target {
  const dataDir = options.dataDir ?? defaultDataDir(env);
  const context = activeContext(options, env);
  return { server: resolveServer(options, env, context), ...resolveToken(options, env, dataDir, context) };
}

/** The cloud API's base URL, without a trailing slash. */
export function resolveServer(
  options: CtlOptions,
  env: Record<string, string | undefined>,
  context: ActiveContext | undefined = activeContext(options, env),
): string {
  if (options.server) return options.server.replace(/\/+$/, "");
  if (context?.server) return context.server.replace(/\/+$/, "");
  const path = join(options.dataDir ?? defaultDataDir(env), API_URL_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return DEFAULT_SERVER;
  }
  const line = text.split("\n")[0]?.trim() ?? "";
  let url: URL;
  try {
    url = new URL(line);
  } catch {
    throw new UsageError(`${path} holds ${JSON.stringify(line)}, not a URL; pass --server URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`${path} holds ${JSON.stringify(line)}, not an http:// URL; pass --server URL`);
  }
  // A cloud listening on every address is reached on loopback from its own host.
  if (url.hostname === "0.0.0.0") url.hostname = "127.0.0.1";
  if (url.hostname === "[::]") url.hostname = "[::1]";
  return url.toString().replace(/\/+$/, "");
}

function resolveToken(
  options: CtlOptions,
  env: Record<string, string | undefined>,
  dataDir: string,
  context: ActiveContext | undefined,
): Omit<Target, "server"> {
  const fromEnv = env.LEVEE_TOKEN !== undefined && env.LEVEE_TOKEN === options.token;
  if (options.token) {
    const source = fromEnv ? "LEVEE_TOKEN" : "--token";
    return { token: options.token, tokenSource: source, tokenSearch: source };
  }
  if (options.tokenFile) {
    const source = env.LEVEE_TOKEN_FILE === options.tokenFile ? "LEVEE_TOKEN_FILE" : "--token-file";
    const read = readToken(options.tokenFile);
    if (!read.ok)
      throw new UsageError(`cannot read the token file ${options.tokenFile} (${source}): ${read.why}`);
    return { token: read.token, tokenSource: `${source} ${options.tokenFile}`, tokenSearch: source };
  }
  const fromContext = context?.["token-file"];
  if (fromContext) {
    const source = `context ${context.name}'s token-file ${fromContext}`;
    const read = readToken(fromContext);
    if (!read.ok) throw new UsageError(`cannot read the token file of ${source}: ${read.why}`);
    return { token: read.token, tokenSource: source, tokenSearch: source };
  }
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  const read = readToken(path);
  if (read.ok) return { token: read.token, tokenSource: path, tokenSearch: path };
  return {
    token: undefined,
    tokenSource: "",
    tokenSearch: `no --token or LEVEE_TOKEN, no --token-file or LEVEE_TOKEN_FILE, and ${path}: ${read.why}`,
  };
}

function readToken(path: string): { ok: true; token: string } | { ok: false; why: string } {
  try {
    const token = readFileSync(path, "utf8").trim();
    return token ? { ok: true, token } : { ok: false, why: "empty" };
  } catch (err) {
    const why = describeFsError(err, {
      EACCES: "permission denied (run as the cloud's user, or pass --token-file)",
    });
    return { ok: false, why };
  }
}

export interface RequestBody {
  /** The body: text, or a stream (an artifact upload) whose byte length is `length`. */
  text: string | ReadableStream<Uint8Array>;
  contentType: string;
  length?: number;
}

export class ApiClient {
  constructor(readonly target: Target) {}

  get server(): string {
    return this.target.server;
  }

  /**
   * Sends a request; resolves to the parsed JSON answer, or throws a CtlFailure. A `signal`
   * replaces the default timeout (an upload takes as long as it takes).
   */
  async request<T>(
    method: string,
    path: string,
    body?: RequestBody | object,
    signal?: AbortSignal,
  ): Promise<T> {
    const res = await this.send(method, path, body, signal);
    const text = await res.text();
    if (!res.ok) throw this.failure(res, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CtlFailure(
        `the cloud at ${this.server} answered ${method} ${path} with a body that is not JSON`,
      );
    }
  }

  /** Sends a request and returns the raw response (for streams); errors as in request(). */
  async stream(path: string, signal: AbortSignal): Promise<Response> {
    const res = await this.send("GET", path, undefined, signal);
    if (!res.ok) throw this.failure(res, await res.text());
    return res;
  }

  private async send(method: string, path: string, body?: RequestBody | object, signal?: AbortSignal) {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.target.token) headers.authorization = `Bearer ${this.target.token}`;
    let payload: string | ReadableStream<Uint8Array> | undefined;
    if (body !== undefined) {
      if (isRequestBody(body)) {
        payload = body.text;
        headers["content-type"] = body.contentType;
        if (body.length !== undefined) headers["content-length"] = String(body.length);
      } else {
        payload = JSON.stringify(body);
        headers["content-type"] = "application/json";
      }
    }
    try {
      return await fetch(`${this.server}/api/v1${path}`, {
        method,
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
        signal: signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw unreachable(this.server, err, REQUEST_TIMEOUT_MS);
    }
  }

  private failure(res: Response, text: string): CtlFailure {
    let error: string | undefined;
    let issues: ApiIssue[] = [];
    try {
      const body = JSON.parse(text) as { error?: unknown; issues?: unknown };
      if (typeof body.error === "string") error = body.error;
      if (Array.isArray(body.issues)) issues = body.issues as ApiIssue[];
    } catch {
      // not JSON: a proxy or something that is not the levee API
    }
    const message = oneLine(error ?? `HTTP ${res.status} ${res.statusText}`.trim());
    if (res.status === 401) {
      if (!this.target.token) {
        return new CtlFailure(
          `the cloud at ${this.server} needs a token and none was found: ${this.target.tokenSearch}`,
        );
      }
      return new CtlFailure(
        `the cloud at ${this.server} refused the token from ${this.target.tokenSource}: ${message}`,
      );
    }
    return new CtlFailure(message, issueLines(issues), false, BAD_INPUT_STATUSES.has(res.status) ? 2 : 1);
  }
}

/** The failure of a request that got no answer (refused, timed out, no route), in one line. */
export function unreachable(server: string, err: unknown, timeoutMs: number): CtlFailure {
  const e = err as Error & { code?: string };
  const why =
    e.name === "TimeoutError"
      ? `no answer within ${timeoutMs / 1000}s`
      : e.code === "ECONNREFUSED" || e.code === "ConnectionRefused"
        ? "connection refused (is levee cloud running there? --server or LEVEE_SERVER picks another)"
        : (e.code ?? e.message);
  return new CtlFailure(`cannot reach the cloud API at ${server}: ${oneLine(why)}`, [], true);
}

function isRequestBody(body: object): body is RequestBody {
  const { text, contentType } = body as RequestBody;
  return (typeof text === "string" || text instanceof ReadableStream) && typeof contentType === "string";
}

/** `  spec.workers[0].node: required`, one per issue; the object is named when several are involved. */
export function issueLines(issues: readonly ApiIssue[]): string[] {
  const objects = new Set(issues.map((i) => `${i.document ?? ""}/${i.kind ?? ""}/${i.name ?? ""}`));
  return issues.map((issue) => {
    const where = issue.path || "(the object)";
    const which =
      objects.size > 1 && (issue.name || issue.document !== undefined)
        ? ` (${issue.kind && issue.name ? `${issue.kind.toLowerCase()}/${issue.name}` : `document ${(issue.document ?? 0) + 1}`})`
        : "";
    return `  ${where}: ${oneLine(String(issue.message))}${which}`;
  });
}

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, "; ").trim();
}
