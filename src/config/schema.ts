// The one schema of every levee option. Command-line flags, LEVEE_* environment variables and the
// YAML config file are all derived from it (names, types, defaults, help text and the README's
// configuration reference), so they cannot drift apart.
//
// Naming: the key `apiListen` is the flag `--api-listen`, the env variable `LEVEE_API_LISTEN` and
// the config file field `api-listen`.
import { z } from "zod";
import { parseBandwidth } from "../manifest/bandwidth.ts";
import { DEFAULT_MAX_SERVICES_PER_NODE, DEFAULT_MAX_WORKERS_PER_NODE } from "../manifest/plan.ts";
import { BUILD_TARGETS } from "../runtime/build-targets.ts";
import { DNS_LABEL, DNS_SUBDOMAIN, dnsSubdomainProblem } from "../runtime/dns-name.ts";
import { DEFAULT_PORTS, parseHostPort } from "../runtime/host-port.ts";

/** Which commands an option belongs to. */
export type Scope = "agent" | "cloud" | "edge" | "ctl" | "install" | "uninstall" | "demo";

export interface OptionMeta {
  scopes: readonly Scope[];
  description: string;
  /** Placeholder shown in help, e.g. HOST:PORT. Omitted for booleans. */
  placeholder?: string;
  /** Human text for defaults computed at start (hostname, data dir, ...). */
  defaultText?: string;
  short?: string;
  /** Only a flag: not read from the environment or the config file. */
  flagOnly?: boolean;
  /** Never echo the value (help shows no default, errors do not quote the value). */
  secret?: boolean;
}

declare module "zod" {
  interface GlobalMeta {
    levee?: OptionMeta;
  }
}

const AGENT: Scope[] = ["agent", "cloud", "edge"];

/** Booleans arrive as real booleans from flags and YAML, as strings from the environment. */
const booleanish = z.preprocess(
  (value) => {
    if (typeof value !== "string") return value;
    const v = value.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off", ""].includes(v)) return false;
    return value;
  },
  z.boolean({ error: "expected true or false" }),
);

const hostPort = z.string().superRefine((value, ctx) => {
  const parsed = parseHostPort(value);
  if (typeof parsed === "string") ctx.addIssue({ code: "custom", message: parsed });
});

const ipOrHost = z
  .string()
  .min(1, "expected an IP address or host name")
  .regex(/^[A-Za-z0-9.:%_-]+$/, "expected an IP address or host name");

const httpUrl = z.url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" });
const mqttUrl = z.url({ protocol: /^(mqtts?|tcp|tls|wss?)$/, error: "expected an mqtt:// or mqtts:// URL" });

/** A size in bytes: a number with an optional binary unit (512MiB, 8GiB; K, M, G, T: the same). */
const byteSize = z.preprocess(
  (value) => {
    if (typeof value !== "string") return value;
    const m = /^\s*(\d+(?:\.\d+)?)\s*(B|K|KiB|M|MiB|G|GiB|T|TiB)?\s*$/i.exec(value);
    if (!m) return value;
    const power = { b: 0, k: 1, m: 2, g: 3, t: 4 }[(m[2] ?? "b").charAt(0).toLowerCase() as "b"];
    return Math.floor(Number(m[1]) * 1024 ** power);
  },
  z
    .number({ error: "expected a size in bytes, e.g. 8GiB, 512MiB or 1048576" })
    .int()
    .min(1, "expected a size of at least 1 byte"),
);

/** A rate in bytes per second: 1MiB/s, 512KiB/s, 1048576. */
const bandwidth = z.preprocess(
  (value) => {
    if (typeof value !== "string") return value;
    const parsed = parseBandwidth(value);
    return parsed.ok ? parsed.bytesPerSecond : value;
  },
  z.number({ error: "expected a bandwidth such as 1MiB/s, 512KiB/s or 1048576 (bytes/s)" }).int().min(1),
);

/** A positive whole number (flags and the environment give strings). */
const count = z.coerce
  .number({ error: "expected a whole number of at least 1" })
  .int("expected a whole number of at least 1")
  .min(1, "expected a whole number of at least 1");

/** A node name: a DNS subdomain (`edge-1`, `cloud.kubeedge`), as Kubernetes allows. */
const nodeName = z.string().regex(DNS_SUBDOMAIN, { error: (iss) => dnsSubdomainProblem(String(iss.input)) });

const port = z.coerce
  .number({ error: "expected a port number" })
  .int("expected a port number")
  .min(1, "expected a port between 1 and 65535")
  .max(65535, "expected a port between 1 and 65535");

/** A port, or 0 for a listener that is off. */
const portOrOff = z.coerce
  .number({ error: "expected a port number, or 0 for off" })
  .int("expected a port number, or 0 for off")
  .min(0, "expected a port between 1 and 65535, or 0 for off")
  .max(65535, "expected a port between 1 and 65535, or 0 for off");

function opt<T extends z.ZodType>(schema: T, meta: OptionMeta): T {
  return schema.meta({ levee: meta });
}

export const optionsSchema = z.object({
  config: opt(z.string().min(1).optional(), {
    scopes: [...AGENT, "demo"],
    description: "YAML config file; its fields are the flag names without the leading dashes",
    placeholder: "FILE",
  }),
  dataDir: opt(z.string().min(1, "expected a directory path").optional(), {
    scopes: [...AGENT, "demo", "uninstall", "ctl"],
    description: "directory for the SQLite database, worker files and the admin token",
    placeholder: "DIR",
    defaultText: "/var/lib/levee as root, else ~/.local/share/levee",
  }),
  nodeName: opt(nodeName.optional(), {
    scopes: AGENT,
    description:
      "this node's name in the cluster: a DNS subdomain (lower-case letters, digits, '-' and '.', at most 253 characters, e.g. edge-1 or cloud.kubeedge)",
    placeholder: "NAME",
    defaultText: "the host name's first label",
  }),
  bindAddress: opt(ipOrHost.default("0.0.0.0"), {
    scopes: AGENT,
    description:
      "address the listeners other hosts use bind to (cloud API, MQTT, mesh tunnel, service ports); the local agent API and the forward proxy stay on loopback: this address when it is a loopback address, else 127.0.0.1",
    placeholder: "ADDR",
  }),
  agentAddress: opt(ipOrHost.optional(), {
    scopes: AGENT,
    description:
      "address the local agent API listens on. On an address other than loopback, callers that are not on loopback need the agent token (<data-dir>/agent.token) as Authorization: Bearer for every route but /healthz and /readyz",
    placeholder: "ADDR",
    defaultText: "loopback: the bind address when it is a loopback address, else 127.0.0.1 (::1 for ::)",
  }),
  advertiseAddress: opt(ipOrHost.optional(), {
    scopes: AGENT,
    description: "address other nodes use to reach this one",
    placeholder: "ADDR",
    defaultText: "the bind address, or when that is 0.0.0.0 the first non-loopback address",
  }),
  agentPort: opt(port.default(DEFAULT_PORTS.agent), {
    scopes: AGENT,
    description: "port of the local agent API (health, discovery, plan, workers; see --agent-address)",
    placeholder: "PORT",
  }),
  proxyPort: opt(port.default(DEFAULT_PORTS.proxy), {
    scopes: AGENT,
    description:
      "port of the mesh forward proxy on loopback (workers with meshProxy: true get it as HTTP_PROXY)",
    placeholder: "PORT",
  }),
  meshRelayOnly: opt(booleanish.default(false), {
    scopes: AGENT,
    description:
      "send mesh traffic to other nodes always through the cloud's relay, never directly (diagnosis, benchmarks)",
  }),
  meshFastPath: opt(z.enum(["auto", "off"]).default("auto"), {
    scopes: AGENT,
    description:
      "auto: connections to a service port that this node's own worker serves alone (or its tcp workers, balanced per connection) go straight to the worker through the kernel (nftables, table inet levee-<mode>-<node>; needs root and nft), the rest through the mesh proxy; off: everything through the mesh proxy (and the table is removed)",
    placeholder: "auto|off",
  }),
  meshThreads: opt(
    z
      .union([
        z.literal("auto"),
        z.coerce.number({ error: 'expected a number of threads or "auto"' }).int().min(1).max(64),
      ])
      .default("auto"),
    {
      scopes: AGENT,
      description:
        "how many threads (cores) carry the mesh's service and upstream ports (the kernel spreads their connections with SO_REUSEPORT; each thread routes and balances on its own); auto: the CPUs this process may use, at most 4; 1: everything on the agent's main thread. The cloud keeps its mesh on one thread (its relay lives there)",
      placeholder: "N|auto",
    },
  ),
  tunnelPort: opt(port.default(DEFAULT_PORTS.tunnel), {
    scopes: AGENT,
    description:
      "port of the mesh tunnel (mutual TLS between agents; on the cloud also the relay for nodes that cannot reach each other) on the bind address",
    placeholder: "PORT",
  }),
  kubePort: opt(portOrOff.default(6443), {
    scopes: AGENT,
    description:
      "port of this agent's Kubernetes API (HTTPS) on the bind address; workers with kubeApi get it as KUBERNETES_SERVICE_HOST (the advertise address) and KUBERNETES_SERVICE_PORT. 0: off (workers with kubeApi then fail to start)",
    placeholder: "PORT",
  }),
  dockerSocket: opt(z.string().min(1).default("/var/run/docker.sock"), {
    scopes: AGENT,
    description: "the Docker Engine API socket that container workers run through",
    placeholder: "PATH",
  }),
  downloadBandwidth: opt(bandwidth.optional(), {
    scopes: AGENT,
    description:
      "cap on this node's artifact downloads, all together (e.g. 1MiB/s, 512KiB/s; bytes/s without a unit), so that the application's traffic keeps its share of the link; the cloud may set a lower one (levee ctl node set-bandwidth), never a higher",
    placeholder: "RATE",
    defaultText: "none",
  }),
  peerFetch: opt(z.enum(["auto", "off"]).default("auto"), {
    scopes: AGENT,
    description:
      "auto: an edge fetches an artifact first from another edge of its cluster that has a verified copy, reached directly through the mesh tunnel (mutual TLS, never the relay; at most 3, nearest first), then from the cloud, and serves its own verified copies to them (2 at a time, under --download-bandwidth); off: neither (the cloud's own node always reads the cloud's copy)",
    placeholder: "auto|off",
  }),
  stopWorkersOnExit: opt(booleanish.default(false), {
    scopes: AGENT,
    description:
      "stop this node's workers when the agent stops (default: they keep running and are adopted at the next start)",
  }),
  logLevel: opt(z.enum(["debug", "info", "warn", "error"]).default("info"), {
    scopes: [...AGENT, "demo"],
    description: "least severe log level written: debug, info, warn, error",
    placeholder: "LEVEL",
  }),
  logFormat: opt(z.enum(["json", "text"]).optional(), {
    scopes: [...AGENT, "demo"],
    description: "json (one object per line, for journald) or text",
    placeholder: "FORMAT",
    defaultText: "text on a terminal, else json",
  }),
  restore: opt(z.string().min(1, "expected a backup file").optional(), {
    scopes: ["cloud"],
    description:
      "restore a backup (levee ctl backup) into the data dir, which must be new or empty, then start; the restored cloud gets a new epoch and edges reconnect without joining again",
    placeholder: "FILE",
    flagOnly: true,
  }),
  apiListen: opt(hostPort.default(`:${DEFAULT_PORTS.api}`), {
    scopes: ["cloud"],
    description: "cloud API listen address; an empty host means the bind address",
    placeholder: "HOST:PORT",
  }),
  mqttListen: opt(hostPort.default(`:${DEFAULT_PORTS.mqtt}`), {
    scopes: ["cloud"],
    description: "embedded MQTT broker listen address; an empty host means the bind address",
    placeholder: "HOST:PORT",
  }),
  mqttUrl: opt(mqttUrl.optional(), {
    scopes: ["cloud"],
    description: "use this external MQTT broker instead of the embedded one",
    placeholder: "URL",
    defaultText: "none: run the embedded broker",
  }),
  mqttTlsCert: opt(z.string().min(1, "expected a file path").optional(), {
    scopes: ["cloud"],
    description:
      "certificate (PEM) of the embedded broker: it then speaks only MQTT over TLS (mqtts://) on --mqtt-listen. It must be valid for --advertise-address (subjectAltName); joining edges get the CA to verify it with (--mqtt-tls-ca, or this certificate when self-signed)",
    placeholder: "FILE",
    defaultText: "none: plain TCP",
  }),
  mqttTlsKey: opt(z.string().min(1, "expected a file path").optional(), {
    scopes: ["cloud"],
    description: "private key (PEM) of --mqtt-tls-cert",
    placeholder: "FILE",
    defaultText: "none; required with --mqtt-tls-cert",
  }),
  mqttTlsCa: opt(z.string().min(1, "expected a file path").optional(), {
    scopes: ["cloud"],
    description:
      "CA certificates (PEM) that the cloud and joining edges trust for the MQTT broker: the CA of --mqtt-tls-cert, or of an external mqtts:// broker (--mqtt-url)",
    placeholder: "FILE",
    defaultText: "--mqtt-tls-cert itself; for an external broker the system CAs",
  }),
  mosquittoConfigDir: opt(z.string().min(1, "expected a directory path").optional(), {
    scopes: ["cloud"],
    description:
      "with --mqtt-url: the cloud keeps Mosquitto's password and ACL files in DIR (levee.passwd, levee.acl, as `levee ctl broker-config mosquitto` writes them) up to date itself: written at start and rewritten atomically after every join and node deletion (an existing file keeps its owner, group and mode). Mosquitto reads them on start and on SIGHUP: see --mosquitto-reload-command",
    placeholder: "DIR",
    defaultText: "none: run `levee ctl broker-config mosquitto` after joins",
  }),
  mosquittoReloadCommand: opt(z.string().min(1, "expected a shell command").optional(), {
    scopes: ["cloud"],
    description:
      "with --mosquitto-config-dir: shell command run after the files changed so that Mosquitto reads them, e.g. `systemctl reload mosquitto` (Debian's unit sends SIGHUP)",
    placeholder: "COMMAND",
    defaultText: "none: reload Mosquitto yourself",
  }),
  artifactMaxSize: opt(byteSize.default(8 * 1024 ** 3), {
    scopes: ["cloud"],
    description: "largest artifact `levee ctl artifact push` may upload (KiB, MiB, GiB, TiB or bytes)",
    placeholder: "SIZE",
    defaultText: "8GiB",
  }),
  maxServicesPerNode: opt(count.default(DEFAULT_MAX_SERVICES_PER_NODE), {
    scopes: ["cloud"],
    description:
      "most services with workers on one node: an apply that would put more there is refused (409 naming the node and the limit); a re-plan without an apply (a node joins, is lost, is relabelled) leaves the rest pending",
    placeholder: "N",
    defaultText: String(DEFAULT_MAX_SERVICES_PER_NODE),
  }),
  maxWorkersPerNode: opt(count.default(DEFAULT_MAX_WORKERS_PER_NODE), {
    scopes: ["cloud"],
    description: "most workers on one node, enforced like --max-services-per-node",
    placeholder: "N",
    defaultText: String(DEFAULT_MAX_WORKERS_PER_NODE),
  }),
  historyLimit: opt(z.coerce.number({ error: "expected a number" }).int().min(1).max(1000).default(10), {
    scopes: ["cloud"],
    description:
      "how many generations of each Service and Dayu object are kept for `levee ctl rollout history` and `rollout undo`",
    placeholder: "N",
    defaultText: "10",
  }),
  cloud: opt(httpUrl, {
    scopes: ["edge"],
    description: "URL of the cloud API, e.g. http://10.0.0.1:7400",
    placeholder: "URL",
  }),
  token: opt(z.string().min(1, "expected a non-empty token").optional(), {
    scopes: ["edge", "ctl"],
    description: "edge: join token from the cloud (only needed for the first start); ctl: API token",
    placeholder: "TOKEN",
    secret: true,
  }),
  server: opt(httpUrl.optional(), {
    scopes: ["ctl"],
    description: "URL of the cloud API",
    placeholder: "URL",
    defaultText: "the URL in <data-dir>/api.url (written by the cloud), else http://127.0.0.1:7400",
  }),
  context: opt(
    z.string().regex(DNS_SUBDOMAIN, "expected a context name (letters, digits, '-', '.')").optional(),
    {
      scopes: ["ctl"],
      description:
        "the cluster to talk to, by its name in the contexts file (levee ctl config; --server, --token and --token-file win over it)",
      placeholder: "NAME",
      defaultText: "the current context, unless --data-dir is given",
    },
  ),
  tokenFile: opt(z.string().min(1).optional(), {
    scopes: ["ctl"],
    description: "file holding the API token",
    placeholder: "FILE",
    defaultText: "<data-dir>/admin.token when it is readable",
  }),
  output: opt(
    z
      .union([z.enum(["table", "wide", "json", "yaml"]), z.string().regex(/^jsonpath=.+/)], {
        error: "expected table, wide, json, yaml or jsonpath=TEMPLATE",
      })
      .default("table"),
    {
      scopes: ["ctl"],
      description:
        "output format of get, describe and apply: table, json or yaml; get also wide (more columns, whole messages) and jsonpath=TEMPLATE (e.g. '{.items[*].metadata.name}')",
      placeholder: "FORMAT",
      short: "o",
      flagOnly: true,
    },
  ),
  filename: opt(z.string().min(1).optional(), {
    scopes: ["ctl"],
    description: "apply/convert: manifest file (YAML or JSON), - for standard input",
    placeholder: "FILE",
    short: "f",
    flagOnly: true,
  }),
  wait: opt(booleanish.default(false), {
    scopes: ["ctl"],
    description: "apply: wait until every node applied the new plan and its workers are ready",
    flagOnly: true,
  }),
  timeout: opt(z.string().default("120s"), {
    scopes: ["ctl"],
    description:
      "apply --wait: give up after this long (e.g. 30s, 5m); upgrade: how long each new agent has to pass its health gate",
    placeholder: "DURATION",
  }),
  toGeneration: opt(z.coerce.number({ error: "expected a generation number" }).int().min(1).optional(), {
    scopes: ["ctl"],
    description: "rollout undo: the kept generation to go back to (`levee ctl rollout history` lists them)",
    placeholder: "N",
    defaultText: "the generation before the current",
    flagOnly: true,
  }),
  watch: opt(booleanish.default(false), {
    scopes: ["ctl"],
    description: "get, events: after the list, print each change as it happens, until Ctrl-C",
    short: "w",
    flagOnly: true,
  }),
  selector: opt(z.string().min(1).optional(), {
    scopes: ["ctl"],
    description:
      "get: only objects whose labels match, e.g. role=camera,zone!=b,gpu,!test (=, ==, !=, a key, !key); upgrade: only the nodes whose labels match",
    placeholder: "SELECTOR",
    short: "l",
    flagOnly: true,
  }),
  service: opt(z.string().min(1).optional(), {
    scopes: ["ctl"],
    description: "events: only the events of this service (in -n's namespace)",
    placeholder: "SERVICE",
    flagOnly: true,
  }),
  ttl: opt(z.string().default("24h"), {
    scopes: ["ctl"],
    description: "token create: how long the join token is valid (at most 168h)",
    placeholder: "DURATION",
    flagOnly: true,
  }),
  uses: opt(z.coerce.number().int().min(1).max(100000).default(1), {
    scopes: ["ctl"],
    description: "token create: how many nodes may join with the token",
    placeholder: "N",
    flagOnly: true,
  }),
  outDir: opt(z.string().min(1).default("."), {
    scopes: ["ctl"],
    description: "broker-config: directory for the generated broker files",
    placeholder: "DIR",
    flagOnly: true,
  }),
  artifacts: opt(booleanish.default(false), {
    scopes: ["ctl"],
    description: "backup: include the artifacts' bytes (left out by default: they can be large)",
    flagOnly: true,
  }),
  name: opt(z.string().min(1).optional(), {
    scopes: ["ctl"],
    description: "artifact push: the artifact's name (a file name)",
    placeholder: "NAME",
    defaultText: "the pushed file's name",
    flagOnly: true,
  }),
  binary: opt(z.string().min(1).optional(), {
    scopes: ["ctl"],
    description: `upgrade: the new levee binary for each build target, TARGET=PATH[,TARGET=PATH...] (targets: ${BUILD_TARGETS.join(", ")})`,
    placeholder: "TARGET=PATH",
    flagOnly: true,
  }),
  binaryVersion: opt(z.string().min(1).max(64).optional(), {
    scopes: ["ctl"],
    description: "upgrade: the binaries' version, when none of them runs on this machine to say it",
    placeholder: "VERSION",
    defaultText: "what `BINARY version` prints",
    flagOnly: true,
  }),
  maxUnavailable: opt(
    z
      .string()
      .regex(/^([1-9][0-9]{0,5}|([1-9][0-9]?|100)%)$/, "expected N or P%")
      .default("1"),
    {
      scopes: ["ctl"],
      description:
        "upgrade: how many nodes are upgraded at once, a count or a percentage of the nodes (e.g. 25%)",
      placeholder: "N|P%",
      flagOnly: true,
    },
  ),
  pause: opt(z.string().default("0s"), {
    scopes: ["ctl"],
    description: "upgrade: how long to wait between batches (e.g. 30s, 5m)",
    placeholder: "DURATION",
    flagOnly: true,
  }),
  allowDowngrade: opt(booleanish.default(false), {
    scopes: ["ctl"],
    description: "upgrade: allow a version older than what a node runs",
    flagOnly: true,
  }),
  includeCloud: opt(booleanish.default(false), {
    scopes: ["ctl"],
    description: "upgrade: upgrade the cloud's own agent too, after every other node",
    flagOnly: true,
  }),
  namespace: opt(z.string().regex(DNS_LABEL, "expected a namespace (a DNS label)").optional(), {
    scopes: ["ctl"],
    description:
      "get, describe, delete, logs, restart: the namespace of the object (get lists every namespace when not given)",
    placeholder: "NS",
    defaultText: "default (get: every namespace)",
    short: "n",
    flagOnly: true,
  }),
  node: opt(nodeName.optional(), {
    scopes: ["ctl"],
    description:
      "logs, restart, exec: the node the worker runs on; get routes: the node whose routes to list",
    placeholder: "NODE",
    flagOnly: true,
  }),
  worker: opt(z.coerce.number({ error: "expected a worker index" }).int().min(0).default(0), {
    scopes: ["ctl"],
    description:
      "logs, restart, exec: the worker's index on that node (the INDEX column of `levee ctl get workers`)",
    placeholder: "I",
    flagOnly: true,
  }),
  follow: opt(booleanish.default(false), {
    scopes: ["ctl"],
    description: "logs, events: keep streaming until Ctrl-C (-f is --filename for other subcommands)",
    short: "f",
    flagOnly: true,
  }),
  stdin: opt(booleanish.default(false), {
    scopes: ["ctl"],
    description: "exec: pass standard input to the command (-i)",
    short: "i",
    flagOnly: true,
  }),
  tty: opt(booleanish.default(false), {
    scopes: ["ctl"],
    description: "exec: run the command in a terminal (-t; -it for an interactive shell)",
    short: "t",
    flagOnly: true,
  }),
  tail: opt(z.coerce.number({ error: "expected a number of lines" }).int().min(0).optional(), {
    scopes: ["ctl"],
    description: "logs: only the last N lines",
    placeholder: "N",
    defaultText: "every line kept (the current file and its rotations)",
    flagOnly: true,
  }),
  since: opt(z.string().min(1).optional(), {
    scopes: ["ctl"],
    description:
      "logs: only what was written since then: a duration (30s, 5m, 1h30m, 2d) or an RFC 3339 time (exec workers: whole log files)",
    placeholder: "DURATION|TIME",
    flagOnly: true,
  }),
  timestamps: opt(booleanish.default(false), {
    scopes: ["ctl"],
    description: "logs: each line begins with its time (RFC 3339; exec workers: see the README)",
    flagOnly: true,
  }),
  previous: opt(booleanish.default(false), {
    scopes: ["ctl"],
    description: "logs: the run before the last restart (-p)",
    short: "p",
    flagOnly: true,
  }),
  all: opt(booleanish.default(false), {
    scopes: ["ctl"],
    description:
      "logs: every worker of the service, each line prefixed [node/index] (the default without --node)",
    flagOnly: true,
  }),
  mode: opt(z.enum(["cloud", "edge"], { error: "expected cloud or edge" }), {
    scopes: ["install"],
    description: "which agent to install: cloud or edge",
    placeholder: "MODE",
  }),
  staged: opt(z.enum(["per-node", "all-nodes"], { error: "expected per-node or all-nodes" }).optional(), {
    scopes: ["ctl"],
    description:
      "ctl apply: stage every Service of the file that does not choose (spec.rollout.staging): nodes fetch the new generation's artifacts while the old workers serve, then switch each as ready (per-node) or all together (all-nodes)",
    placeholder: "MODE",
    flagOnly: true,
  }),
  dryRun: opt(booleanish.default(false), {
    scopes: ["install", "uninstall", "ctl"],
    description:
      "install, uninstall: print every file and command instead of changing the system; ctl apply, rollout undo: say what would change (each object, each node's workers) and store nothing",
    flagOnly: true,
  }),
  root: opt(z.string().min(1).default("/"), {
    scopes: ["install", "uninstall"],
    description: "install into this root directory (packaging); systemctl is only run when it is /",
    placeholder: "DIR",
    flagOnly: true,
  }),
  purge: opt(booleanish.default(false), {
    scopes: ["uninstall"],
    description: "also delete the data dir",
    flagOnly: true,
  }),
  edges: opt(z.coerce.number().int().min(0).max(50).default(3), {
    scopes: ["demo"],
    description: "number of edge agents the demo starts",
    placeholder: "N",
  }),
});

export type Options = z.infer<typeof optionsSchema>;
export type OptionKey = keyof Options;

export const optionKeys = Object.keys(optionsSchema.shape) as OptionKey[];

export function optionMeta(key: OptionKey): OptionMeta {
  const meta = optionsSchema.shape[key].meta()?.levee;
  if (!meta) throw new Error(`option ${key} has no levee metadata`);
  return meta;
}

/** Keys of the options that belong to a scope (agent options are shared by cloud and edge). */
export function optionsFor(scope: Scope): OptionKey[] {
  return optionKeys.filter((key) => optionMeta(key).scopes.includes(scope));
}

export const flagName = (key: OptionKey): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const envName = (key: OptionKey): string =>
  `LEVEE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** The static default of an option as the user would type it, or undefined. */
export function staticDefault(key: OptionKey): string | undefined {
  const result = optionsSchema.shape[key].safeParse(undefined);
  if (!result.success || result.data === undefined) return undefined;
  return String(result.data);
}

/** Whether an option must be given (no default, not optional). */
export function isRequired(key: OptionKey): boolean {
  return !optionsSchema.shape[key].safeParse(undefined).success;
}

export function isBoolean(key: OptionKey): boolean {
  return optionMeta(key).placeholder === undefined;
}
