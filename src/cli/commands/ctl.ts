// `levee ctl <subcommand>`: the client of the cloud API. Each subcommand lives in src/cli/ctl/;
// this module picks it (and loads its module only then), and turns its failures into one line on stderr: usage problems exit 2,
// server and API failures exit 1 (a rejected manifest adds one `  <path>: <message>` line per issue).
import { type Options, optionsFor } from "../../config/schema.ts";
import { describeError, UsageError } from "../../runtime/errors.ts";
import { defineCommand } from "../command.ts";
import { CtlFailure } from "../ctl/client.ts";
import { makeContext, type Subcommand } from "../ctl/context.ts";
import { ctlKeysFor, logs } from "../ctl/logs.ts";

/** A subcommand whose module is loaded when it runs (`levee edge` and the rest never load them). */
const lazy =
  (load: () => Promise<Subcommand>): Subcommand =>
  async (ctx) =>
    (await load())(ctx);

interface Entry {
  usage: string;
  summary: string;
  run: Subcommand;
}

const SUBCOMMANDS: Record<string, Entry> = {
  apply: {
    usage: "apply -f FILE|- [--wait [--timeout 120s]] [--dry-run]",
    summary:
      "create or update the objects in a YAML or JSON manifest (all or nothing); --dry-run: say what it would do, store nothing",
    run: lazy(async () => (await import("../ctl/apply.ts")).apply),
  },
  diff: {
    usage: "diff -f FILE|-",
    summary:
      "what applying the file would change: each object's fields, each node's workers (added, replaced, stopped); nothing stored",
    run: lazy(async () => (await import("../ctl/diff.ts")).diff),
  },
  rollout: {
    usage: "rollout history|undo KIND/NAME [--to-generation N] [--dry-run]",
    summary:
      "the kept generations of a service or Dayu object, or roll it back to one (the previous by default) as a new generation",
    run: lazy(async () => (await import("../ctl/rollout.ts")).rollout),
  },
  convert: {
    usage: "convert -f FILE|- [-o yaml|json]",
    summary:
      "print the native manifests of a file (Dayu's JointMultiEdgeService, RuntimeService) without applying (no server needed)",
    run: lazy(async () => (await import("../ctl/convert.ts")).convert),
  },
  get: {
    usage: "get KIND [NAME] [-o table|json|yaml]",
    summary: "list nodes, services, configs or workers (get workers SERVICE: one service's)",
    run: lazy(async () => (await import("../ctl/get.ts")).get),
  },
  describe: {
    usage: "describe KIND NAME",
    summary: "an object as YAML with its workers and recent events",
    run: lazy(async () => (await import("../ctl/get.ts")).describe),
  },
  delete: {
    usage: "delete KIND NAME",
    summary: "delete a service, config or node",
    run: lazy(async () => (await import("../ctl/delete.ts")).deleteObject),
  },
  token: {
    usage: "token create [--ttl 24h] [--uses 1]",
    summary: "make a join token for levee edge --token (printed alone on the last line)",
    run: lazy(async () => (await import("../ctl/token.ts")).token),
  },
  artifact: {
    usage: "artifact push FILE [--name NAME] | ls | rm SHA256",
    summary: "upload a file (a DNN model, ...) that workers mount; prints its sha256 on the last line",
    run: lazy(async () => (await import("../ctl/artifact.ts")).artifact),
  },
  logs: {
    usage: "logs SERVICE --node NODE [--worker I] [-f] [--tail N]",
    summary: "a worker's output, streamed from its node (-f: follow until Ctrl-C)",
    run: logs,
  },
  exec: {
    usage: "exec SERVICE --node NODE [--worker I] [-i] [-t] -- COMMAND [ARGS...]",
    summary:
      "run a command in a worker (its directory, environment and user; a container: docker exec); exits with its code",
    run: lazy(async () => (await import("../ctl/exec.ts")).exec),
  },
  restart: {
    usage: "restart SERVICE --node NODE [--worker I] [-n NS]",
    summary: "restart one worker: the node stops it and starts it again at once (or when it is back online)",
    run: lazy(async () => (await import("../ctl/restart.ts")).restart),
  },
  schema: {
    usage: "schema KIND",
    summary: "print the JSON Schema of a manifest kind (no server needed)",
    run: lazy(async () => (await import("../ctl/schema.ts")).schema),
  },
  "broker-config": {
    usage: "broker-config mosquitto [--out-dir DIR]",
    summary: "write the password and ACL files for an external Mosquitto",
    run: lazy(async () => (await import("../ctl/broker-config.ts")).brokerConfig),
  },
  kubeconfig: {
    usage: "kubeconfig [-n NAMESPACE] [-o yaml|json]",
    summary: "print a kubeconfig for kubectl against the cloud's Kubernetes API (holds the admin token)",
    run: lazy(async () => (await import("../ctl/kubeconfig.ts")).kubeconfig),
  },
  backup: {
    usage: "backup FILE [--artifacts]",
    summary:
      "save a consistent copy of the cloud (store, tokens, CAs; artifacts with --artifacts) to FILE (restore: levee cloud --restore FILE)",
    run: lazy(async () => (await import("../ctl/backup.ts")).backup),
  },
  status: {
    usage: "status",
    summary: "show whether the cloud API is up and ready, and why not",
    run: lazy(async () => (await import("../ctl/status.ts")).status),
  },
};

const NAMES = Object.keys(SUBCOMMANDS).join(", ");

export const ctlCommand = defineCommand({
  name: "ctl",
  summary:
    "talk to the cloud API: apply manifests, get/describe/delete objects, restart workers, make join tokens",
  usage: "levee ctl <subcommand> [args] [flags]",
  details: [
    "Subcommands:",
    ...Object.values(SUBCOMMANDS).map((s) => `  ${s.usage}\n      ${s.summary}`),
    "",
    "KIND: node|nodes|no, service|services|svc, config|configs|cfg, worker|workers, route|routes,",
    "      namespace|namespaces|ns, grant|grants, imagemap|imagemaps,",
    "      jointmultiedgeservice|jointmultiedgeservices|jmes, runtimeservice|runtimeservices|rts.",
    "-n NAMESPACE: the object's namespace (get without it lists every namespace).",
    "On the cloud's host, the server and the admin token are found in the data dir (api.url, admin.token).",
  ].join("\n"),
  options: optionsFor("ctl"),
  optionsForArgs: (argv) => ctlKeysFor(argv, optionsFor("ctl")),
  positionals: true,
  async run({ options, positionals, env }) {
    const [sub, ...rest] = positionals;
    if (!sub) throw new UsageError(`levee ctl: missing subcommand; one of: ${NAMES}`);
    const entry = Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
    if (!entry) throw new UsageError(`levee ctl: unknown subcommand "${sub}"; one of: ${NAMES}`);
    try {
      return await entry.run(makeContext(rest, options as Options, env));
    } catch (err) {
      if (!(err instanceof UsageError) && !(err instanceof CtlFailure)) throw err;
      const lines = [`levee ctl ${sub}: ${describeError(err)}`];
      if (err instanceof CtlFailure) lines.push(...err.details);
      process.stderr.write(`${lines.join("\n")}\n`);
      return err.exitCode;
    }
  },
});
