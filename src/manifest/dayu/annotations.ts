// The few choices a Dayu manifest cannot express, as annotations on the Dayu object (Kubernetes
// ignores them, so the same manifest still works there):
//   levee.io/port-env       variables a component reads its listen port from, comma-separated
//                           (default "GUNICORN_PORT", what Dayu's components use; "" for none)
//   levee.io/mesh-protocol  tcp (default: Sedna's services are TCP) or http (per-request balancing)
//   levee.io/mesh-fallback  none, cloud or any: what the service port of a node without a serving
//                           worker does (default from serviceConfig.pos: cloud → cloud, else none)
import type { Report } from "./warnings.ts";

export const DEFAULT_PORT_ENV = ["GUNICORN_PORT"];
const PREFIX = "levee.io/";
const KNOWN = ["port-env", "mesh-protocol", "mesh-fallback"];

export interface DayuOptions {
  portEnv: string[];
  protocol: "tcp" | "http" | undefined;
  fallback: "none" | "cloud" | "any" | undefined;
}

const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function dayuOptions(annotations: Record<string, string> | undefined, report: Report): DayuOptions {
  const out: DayuOptions = { portEnv: [...DEFAULT_PORT_ENV], protocol: undefined, fallback: undefined };
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(PREFIX)) continue;
    const name = key.slice(PREFIX.length);
    const path = ["metadata", "annotations", key];
    if (!KNOWN.includes(name)) {
      report.warn(path, `unknown levee annotation; known: ${KNOWN.map((k) => PREFIX + k).join(", ")}`);
      continue;
    }
    if (name === "port-env") {
      const names = value
        .split(",")
        .map((v) => v.trim())
        .filter((v) => v !== "");
      const bad = names.find((v) => !VARIABLE.test(v));
      if (bad !== undefined) report.issue(path, `expected variable names separated by commas, got "${bad}"`);
      else out.portEnv = names;
    } else if (name === "mesh-protocol") {
      if (value === "tcp" || value === "http") out.protocol = value;
      else report.issue(path, `expected "tcp" or "http", got ${JSON.stringify(value)}`);
    } else if (value === "none" || value === "cloud" || value === "any") {
      out.fallback = value;
    } else {
      report.issue(path, `expected "none", "cloud" or "any", got ${JSON.stringify(value)}`);
    }
  }
  return out;
}
