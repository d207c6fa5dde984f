// Which node and service a request to the forward proxy names (pure, from the catalog):
//   absolute-form  GET http://<node name or address>:<service port>/path    (no port: 80)
//                  GET http://<service>.<node>.levee[:port]/path             (port optional;
//                      dotted node and service names are split by the catalog: levee-host.ts)
//   origin-form    GET /path  with  Host: <as above>
//   header         X-Levee-Node: <node name or address>  + the port of the URL or the Host header
//   CONNECT        CONNECT <node or service.node.levee>:<port>  (TLS and raw TCP; port required)
// Node names match case-insensitively, addresses exactly (IPv6 with or without brackets). An address
// shared by several nodes is ambiguous and refused rather than guessed. Errors name the cause: 400 for
// a malformed or contradictory request, 404 for an unknown node, service or port.

import type { Catalog, CatalogNode, CatalogService } from "../contracts.ts";
import { headerValue } from "./header.ts";
import { LEVEE_SUFFIX, readLeveeHost } from "./levee-host.ts";

export interface ProxyRequest {
  method: string;
  /** The request-target of the start line as received. */
  target: string;
  /** The Host header, when present. */
  host?: string;
  /** The X-Levee-Node header, when present. */
  node?: string;
}

export interface Target {
  ok: true;
  node: string;
  service: string;
  /** The service port. */
  port: number;
  /** The path and query to send on (origin-form); "" for CONNECT. */
  path: string;
}

export interface TargetError {
  ok: false;
  status: 400 | 404;
  error: string;
  /** Value for the X-Levee-Error header. */
  header: string;
}

export function targetOf(request: ProxyRequest, catalog: Catalog): Target | TargetError {
  const connect = request.method.toUpperCase() === "CONNECT";
  const located = locate(request, connect);
  if ("error" in located) return failure(400, located.error);
  const authority = parseAuthority(located.authority);
  if ("error" in authority) return failure(400, `${authority.error} in ${located.from}`);
  if (connect && authority.port === undefined) return failure(400, "CONNECT needs host:port");
  const defaultPort = connect ? 443 : 80;
  const headerNode = request.node?.trim();
  if (request.node !== undefined && !headerNode) return failure(400, "X-Levee-Node header is empty");

  if (authority.host.endsWith(LEVEE_SUFFIX)) {
    const named = readLeveeHost(authority.host, catalog);
    if (!named.ok) return failure(named.status, named.error);
    const { service, node } = named;
    if (headerNode !== undefined) {
      const named = resolveNode(catalog.nodes, headerNode);
      if ("error" in named) return named;
      if (named.name !== node.name) {
        return failure(400, `X-Levee-Node ${headerNode} contradicts host ${authority.host}`);
      }
    }
    const port = authority.port;
    if (port !== undefined && port !== service.port && port !== defaultPort) {
      return failure(400, `port ${port} is not the port of service ${service.name} (${service.port})`);
    }
    return found(node, service, located.path);
  }

  const named = resolveNode(catalog.nodes, headerNode ?? authority.host);
  if ("error" in named) return named;
  const port = authority.port ?? defaultPort;
  const service = catalog.services.find((candidate) => candidate.port === port);
  if (!service) return failure(404, `no service on port ${port} (node ${named.name})`);
  return found(named, service, located.path);
}

/** Where the authority is: the CONNECT target, the absolute-form URL, or the Host header. */
function locate(
  request: ProxyRequest,
  connect: boolean,
): { authority: string; path: string; from: string } | { error: string } {
  const target = request.target;
  if (connect) {
    if (target.includes("/")) return { error: `CONNECT target ${target} is not host:port` };
    return { authority: target, path: "", from: "the CONNECT target" };
  }
  if (target.startsWith("/") || target === "*") {
    if (request.host === undefined || request.host.trim() === "") {
      return { error: "no Host header and no absolute URL" };
    }
    return { authority: request.host.trim(), path: target, from: "the Host header" };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(target);
  if (!scheme) return { error: `request target ${target} is neither a path nor an absolute URL` };
  const name = (scheme[1] as string).toLowerCase();
  if (name === "https") return { error: "https:// through the proxy needs CONNECT" };
  if (name !== "http") return { error: `scheme ${name} is not supported (http, or CONNECT)` };
  const rest = target.slice(scheme[0].length);
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  let path = end < 0 ? "/" : rest.slice(end);
  const hash = path.indexOf("#");
  if (hash >= 0) path = path.slice(0, hash);
  if (path.startsWith("?")) path = `/${path}`;
  return { authority, path, from: "the URL" };
}

/** host[:port] or [v6][:port]; host lower-cased, a trailing dot dropped. */
export function parseAuthority(text: string): { host: string; port?: number } | { error: string } {
  if (text === "") return { error: "empty host" };
  if (text.includes("@")) return { error: "user info is not supported" };
  let host: string;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return { error: `unclosed [ in ${text}` };
    host = text.slice(1, close);
    const after = text.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) return { error: `bad text after ] in ${text}` };
    portText = after === "" ? undefined : after.slice(1);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon >= 0 && text.indexOf(":") !== colon) return { error: `IPv6 address ${text} needs [brackets]` };
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
  }
  host = host.toLowerCase().replace(/\.$/, "");
  if (host === "" || /[\s/\\?#%]/.test(host)) return { error: `bad host ${JSON.stringify(host)}` };
  if (portText === undefined) return { host };
  if (!/^\d{1,5}$/.test(portText)) return { error: `bad port ${JSON.stringify(portText)}` };
  const port = Number(portText);
  if (port < 1 || port > 65_535) return { error: `port ${port} out of range` };
  return { host, port };
}

/** A node by name (case-insensitive) or by one of its addresses; never a guess. */
function resolveNode(nodes: readonly CatalogNode[], text: string): CatalogNode | TargetError {
  const wanted = bare(text);
  const byName = nodes.find((node) => node.name.toLowerCase() === wanted);
  if (byName) return byName;
  const byAddress = nodes.filter((node) => node.addresses.some((address) => bare(address) === wanted));
  if (byAddress.length === 1) return byAddress[0] as CatalogNode;
  if (byAddress.length > 1) {
    return failure(
      400,
      `address ${text} belongs to several nodes (${byAddress.map((n) => n.name).join(", ")})`,
    );
  }
  return failure(404, `unknown node ${text}`);
}

function bare(text: string): string {
  const trimmed = text.trim().toLowerCase();
  const unbracketed = trimmed.startsWith("[") && trimmed.endsWith("]") ? trimmed.slice(1, -1) : trimmed;
  return unbracketed.replace(/\.$/, "");
}

function found(node: CatalogNode, service: CatalogService, path: string): Target {
  return { ok: true, node: node.name, service: service.name, port: service.port, path };
}

function failure(status: 400 | 404, error: string): TargetError {
  return { ok: false, status, error, header: headerValue(error) };
}
