// Which service and node a host name `<service>.<node>.levee` names (pure, from the catalog). Node
// names are DNS subdomains (`edge.site-a`) and service names may be qualified (`svc.namespace`), so
// the labels before `.levee` are split by the catalog: for every split point the labels before it
// name the service and the rest the node. The one split where both are known is the answer; two
// such splits are ambiguous and refused (400) naming both readings, never guessed; none is 404
// naming what is unknown. Node names match case-insensitively, service names exactly (the host is
// lower-cased before it gets here).

import type { Catalog, CatalogNode, CatalogService } from "../contracts.ts";

export const LEVEE_SUFFIX = ".levee";

/** The longest `<service>.<node>` part: two DNS subdomains of at most 253 characters and a dot. */
const MAX_NAMES_LENGTH = 253 + 1 + 253;

export type LeveeHost =
  | { ok: true; service: CatalogService; node: CatalogNode }
  | { ok: false; status: 400 | 404; error: string };

interface Reading {
  service: string;
  node: string;
  knownService?: CatalogService;
  knownNode?: CatalogNode;
}

/** Reads `host` (lower case, ending in `.levee`) as `<service>.<node>.levee`. */
export function readLeveeHost(host: string, catalog: Catalog): LeveeHost {
  const names = host.slice(0, -LEVEE_SUFFIX.length);
  const labels = names.split(".");
  if (labels.length < 2 || labels.some((label) => label === "")) {
    return { ok: false, status: 400, error: `host ${host} is not <service>.<node>.levee` };
  }
  if (names.length > MAX_NAMES_LENGTH) {
    return {
      ok: false,
      status: 400,
      error: `host is not <service>.<node>.levee: ${names.length} characters before .levee, at most ${MAX_NAMES_LENGTH}`,
    };
  }
  const readings = splits(labels).map((reading) => known(reading, catalog));
  const matches = readings.filter((r) => r.knownService && r.knownNode);
  const [first, second] = matches;
  if (first?.knownService && first.knownNode && second === undefined) {
    return { ok: true, service: first.knownService, node: first.knownNode };
  }
  if (first && second) {
    const both = matches.map((r) => `service ${r.service} on node ${r.node}`).join(", or ");
    return { ok: false, status: 400, error: `host ${host} is ambiguous: ${both}` };
  }
  return { ok: false, status: 404, error: notFound(host, readings) };
}

/** Every way to cut the labels in two non-empty parts: service first, node after. */
function splits(labels: readonly string[]): Reading[] {
  const readings: Reading[] = [];
  for (let cut = 1; cut < labels.length; cut++) {
    readings.push({ service: labels.slice(0, cut).join("."), node: labels.slice(cut).join(".") });
  }
  return readings;
}

function known(reading: Reading, catalog: Catalog): Reading {
  const knownService = catalog.services.find((service) => service.name === reading.service);
  const knownNode = catalog.nodes.find((node) => node.name.toLowerCase() === reading.node);
  return {
    ...reading,
    ...(knownService ? { knownService } : {}),
    ...(knownNode ? { knownNode } : {}),
  };
}

/**
 * What is unknown: with no service named by any leading labels, the service; else the node of each
 * reading whose service is known ("unknown node edge9", with the service when there are several).
 */
function notFound(host: string, readings: readonly Reading[]): string {
  const withService = readings.filter((r) => r.knownService);
  if (withService.length === 0) {
    const only = readings.length === 1 ? readings[0] : undefined;
    return only
      ? `unknown service ${only.service}`
      : `unknown service: no service is named by the start of host ${host}`;
  }
  if (withService.length === 1) return `unknown node ${withService[0]?.node}`;
  return withService.map((r) => `unknown node ${r.node} (for service ${r.service})`).join(", ");
}
