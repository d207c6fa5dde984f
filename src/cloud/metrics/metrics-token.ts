// The read-only scrape token: made at first start in <data-dir>/metrics.token (mode 0600), like
// the admin token, and accepted only by the metrics routes (GET /metrics, the targets, a node's
// metrics). Prometheus gets this file (`credentials_file`), never the admin token, so a leaked
// scrape configuration changes nothing in the cluster. Delete the file and restart to rotate it.
import { join } from "node:path";
import { ensureTokenFile } from "../../runtime/token-file.ts";

export const METRICS_TOKEN_FILE = "metrics.token";

export function metricsTokenPath(dataDir: string): string {
  return join(dataDir, METRICS_TOKEN_FILE);
}

/** Reads the metrics token, creating it (atomically, mode 0600) when it does not exist. */
export function ensureMetricsToken(dataDir: string): string {
  return ensureTokenFile(metricsTokenPath(dataDir), "lvmet_");
}
