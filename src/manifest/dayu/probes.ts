// A container's readinessProbe / livenessProbe → the worker's health check. levee has one check per
// worker: readiness decides whether the mesh sends it traffic, `liveness: true` also restarts it.
// httpGet and tcpSocket on the container's own port become checks of the worker's port (which may
// be one the agent allocated: the probe follows it); exec becomes a command check.
import { formatDuration } from "../duration.ts";
import type { RawHealth } from "./native.ts";
import type { Container, Probe } from "./pod-schema.ts";
import type { Path, Report } from "./warnings.ts";

export interface OwnPort {
  /** The port the container listens on as its manifest says (before levee moves it), if any. */
  declared: number | undefined;
  /** Named container ports. */
  names: Readonly<Record<string, number>>;
  /** Whether the worker has a port in levee (auto or fixed). */
  hasPort: boolean;
}

export function probeHealth(
  container: Container,
  path: Path,
  own: OwnPort,
  report: Report,
): RawHealth | undefined {
  const readiness = container.readinessProbe ?? undefined;
  const liveness = container.livenessProbe ?? undefined;
  if (!readiness && !liveness) return undefined;
  const field = readiness ? "readinessProbe" : "livenessProbe";
  const chosen = (readiness ?? liveness) as Probe;
  const health = probeCheck(chosen, [...path, field], own, report);
  if (!health) return undefined;
  if (liveness) {
    const same = readiness === undefined || sameHandler(readiness, liveness);
    if (same) health.liveness = true;
    else
      report.warn(
        [...path, "livenessProbe"],
        "levee has one check per worker: the readinessProbe is used, this livenessProbe is ignored",
      );
  }
  return health;
}

function sameHandler(a: Probe, b: Probe): boolean {
  const handler = (p: Probe) => JSON.stringify([p.httpGet ?? null, p.tcpSocket ?? null, p.exec ?? null]);
  return handler(a) === handler(b);
}

function probeCheck(probe: Probe, path: Path, own: OwnPort, report: Report): RawHealth | undefined {
  report.unknownFields(
    probe,
    [
      "httpGet",
      "tcpSocket",
      "exec",
      "initialDelaySeconds",
      "periodSeconds",
      "timeoutSeconds",
      "successThreshold",
      "failureThreshold",
    ],
    path,
  );
  const health: RawHealth = {};
  if (probe.httpGet) {
    const get = probe.httpGet;
    report.unknownFields(get, ["path", "port", "host", "scheme"], [...path, "httpGet"], {
      httpHeaders: "request headers are not supported; ignored",
    });
    if (get.host) report.warn([...path, "httpGet", "host"], "levee checks the worker on 127.0.0.1; ignored");
    if (get.scheme && get.scheme !== "HTTP")
      report.warn([...path, "httpGet", "scheme"], "levee checks over plain HTTP; ignored");
    if (!isOwnPort(get.port, own)) {
      report.warn(
        [...path, "httpGet", "port"],
        "an HTTP check reaches the worker's own port only; this probe is ignored",
      );
      return undefined;
    }
    const target = get.path || "/";
    if (!/^\/[!-~]*$/.test(target)) {
      report.issue([...path, "httpGet", "path"], 'expected a URL path starting with "/" (no spaces)');
      return undefined;
    }
    health.http = target;
  } else if (probe.tcpSocket) {
    const port = probe.tcpSocket.port;
    if (isOwnPort(port, own)) health.tcp = true;
    else if (typeof port === "number") health.tcp = port;
    else {
      report.warn([...path, "tcpSocket", "port"], `no container port named ${port}; this probe is ignored`);
      return undefined;
    }
  } else if (probe.exec) {
    health.command = [...probe.exec.command];
  } else {
    report.warn(path, "no httpGet, tcpSocket or exec handler levee can run; ignored");
    return undefined;
  }
  if (probe.initialDelaySeconds)
    report.warn(
      [...path, "initialDelaySeconds"],
      "levee checks from the start (a failing check only delays readiness; with liveness, set failureThreshold to cover the start-up); ignored",
    );
  if (probe.periodSeconds) health.interval = formatDuration(probe.periodSeconds * 1000);
  if (probe.timeoutSeconds) health.timeout = formatDuration(probe.timeoutSeconds * 1000);
  if (probe.successThreshold) health.successThreshold = probe.successThreshold;
  if (probe.failureThreshold) health.failureThreshold = probe.failureThreshold;
  return health;
}

function isOwnPort(port: number | string, own: OwnPort): boolean {
  if (!own.hasPort) return false;
  const number = typeof port === "number" ? port : own.names[port];
  return number !== undefined && number === own.declared;
}
