// `levee ctl <subcommand>`: the client of the cloud API. Each subcommand lives in src/cli/ctl/;
// this module picks it (and loads its module only then), and turns its failures into one line on stderr: usage problems exit 2,
// server and API failures exit 1 (a rejected manifest adds one `  <path>: <message>` line per issue).
//
// A subcommand registers here with one entry of SUBCOMMANDS: its usage and summary (ctl's help),
// `flags` (the options it reads besides the connection flags) and `args` (the words its first
// argument takes): `levee ctl SUB --help` and the shell completion are made from these.
import { type OptionKey, type Options, optionsFor } from "../../config/schema.ts";
import { describeError, UsageError } from "../../runtime/errors.ts";
import { type Command, defineCommand } from "../command.ts";
import type { CompletionSpec } from "../completion.ts";
import { CtlFailure } from "../ctl/client.ts";
import { makeContext, type Subcommand } from "../ctl/context.ts";
import { KINDS, type KindInfo, wordsOf } from "../ctl/kinds.ts";
import { ctlKeysFor, logs } from "../ctl/logs.ts";
import { CONNECTION_FLAGS, flagWords, subcommandHelp } from "../ctl/subcommand-help.ts";
import { didYouMean } from "../did-you-mean.ts";
import { commandHelp } from "../help.ts";

/** A subcommand whose module is loaded when it runs (`levee edge` and the rest never load them). */
const lazy =
  (load: () => Promise<Subcommand>): Subcommand =>
  async (ctx) =>
    (await load())(ctx);

export interface Entry {
  usage: string;
  summary: string;
  /** More for `levee ctl SUB --help`. */
  details?: string;
  /** The options it reads besides CONNECTION_FLAGS (help and completion list them). */
  flags?: readonly OptionKey[];
  /** The words its first argument takes (completion). */
  args?: readonly string[];
  run: Subcommand;
}

/** Every word that names a kind the subcommand accepts. */
const kindWords = (accept: (k: KindInfo) => boolean = () => true): string[] => wordsOf(KINDS.filter(accept));

const SUBCOMMANDS: Record<string, Entry> = {
  apply: {
    usage: "apply -f FILE|- [--wait [--timeout 120s]] [--dry-run] [--staged per-node|all-nodes]",
    summary:
      "create or update the objects in a YAML or JSON manifest (all or nothing); --dry-run: say what it would do, store nothing",
    flags: ["filename", "wait", "timeout", "output", "dryRun", "staged"],
    run: lazy(async () => (await import("../ctl/apply.ts")).apply),
  },
  diff: {
    usage: "diff -f FILE|-",
    summary:
      "what applying the file would change: each object's fields, each node's workers (added, replaced, stopped); nothing stored",
    flags: ["filename", "output"],
    run: lazy(async () => (await import("../ctl/diff.ts")).diff),
  },
  rollout: {
    usage: "rollout history|undo KIND/NAME [--to-generation N] [--dry-run]",
    summary:
      "the kept generations of a service or Dayu object, or roll it back to one (the previous by default) as a new generation",
    flags: ["toGeneration", "dryRun", "namespace", "output"],
    args: ["history", "undo"],
    run: lazy(async () => (await import("../ctl/rollout.ts")).rollout),
  },
  convert: {
    usage: "convert -f FILE|- [-o yaml|json]",
    summary:
      "print the native manifests of a file (Dayu's JointMultiEdgeService, RuntimeService) without applying (no server needed)",
    flags: ["filename", "output"],
    run: lazy(async () => (await import("../ctl/convert.ts")).convert),
  },
  get: {
    usage: "get KIND [NAME] [-l SELECTOR] [-w] [-o table|wide|json|yaml|jsonpath=TEMPLATE]",
    summary: "list nodes, services, configs or workers (get workers SERVICE: one service's)",
    details: [
      "-l role=camera,zone!=b,gpu,!test: only objects whose labels match (all of the parts).",
      "-w: after the list, print each object whose row changes (phase, readiness, restarts, plan), until Ctrl-C.",
      "-o wide: more columns and whole messages; -o jsonpath='{.items[*].metadata.name}': kubectl's",
      'JSONPath templates ({range .items[*]}{.metadata.name}{"\\n"}{end}). get events: levee ctl events.',
    ].join("\n"),
    flags: ["output", "namespace", "node", "selector", "watch"],
    args: [...kindWords(), "events"],
    run: lazy(async () => (await import("../ctl/get.ts")).get),
  },
  events: {
    usage: "events [-f] [--node NODE] [--service SERVICE [-n NS]] [-o table|wide|json|yaml]",
    summary: "the cluster's events, oldest first (-f or -w: then each new one, until Ctrl-C)",
    details: "--node keeps a node's own events and those that name it (a worker restarted on it).",
    flags: ["follow", "watch", "node", "service", "namespace", "output"],
    run: lazy(async () => (await import("../ctl/events-command.ts")).events),
  },
  describe: {
    usage: "describe KIND NAME",
    summary: "an object as YAML with its workers and recent events",
    flags: ["output", "namespace"],
    args: kindWords((k) => k.resource),
    run: lazy(async () => (await import("../ctl/get.ts")).describe),
  },
  delete: {
    usage: "delete KIND NAME",
    summary: "delete a service, config or node",
    flags: ["output", "namespace"],
    args: kindWords((k) => k.deletable),
    run: lazy(async () => (await import("../ctl/delete.ts")).deleteObject),
  },
  token: {
    usage: "token create [--ttl 24h] [--uses 1]",
    summary: "make a join token for levee edge --token (printed alone on the last line)",
    flags: ["ttl", "uses", "output"],
    args: ["create"],
    run: lazy(async () => (await import("../ctl/token.ts")).token),
  },
  upgrade: {
    usage:
      "upgrade --binary TARGET=PATH[,TARGET=PATH...] [-l SELECTOR] [--max-unavailable N|P%] [--pause D] [--timeout 120s] [--allow-downgrade] [--include-cloud] | upgrade status|pause|resume|abort",
    summary:
      "upgrade the nodes' agents in batches, each behind a health gate with automatic rollback; status: each node's progress",
    details: [
      "The binaries are pushed as artifacts and signed by the cloud; each node downloads its target's,",
      "checks it, swaps it in (the old one kept as <binary>.previous), restarts with its workers running",
      "and must come back Ready at the new version with every worker adopted within --timeout, or it",
      "rolls back by itself and the rollout stops. The cloud's own node only with --include-cloud (last).",
    ].join("\n"),
    flags: [
      "binary",
      "binaryVersion",
      "selector",
      "maxUnavailable",
      "pause",
      "timeout",
      "allowDowngrade",
      "includeCloud",
      "output",
    ],
    args: ["status", "pause", "resume", "abort"],
    run: lazy(async () => (await import("../ctl/upgrade.ts")).upgrade),
  },
  artifact: {
    usage: "artifact push FILE [--name NAME] | ls | rm SHA256",
    summary: "upload a file (a DNN model, ...) that workers mount; prints its sha256 on the last line",
    flags: ["name", "output"],
    args: ["push", "ls", "rm"],
    run: lazy(async () => (await import("../ctl/artifact.ts")).artifact),
  },
  image: {
    usage: "image push IMAGE|TARBALL | ls | rm REFERENCE",
    summary:
      "store a container image in the cloud (from the local Docker or a docker save tarball); nodes load it without a registry",
    flags: ["output"],
    args: ["push", "ls", "rm"],
    run: lazy(async () => (await import("../ctl/image.ts")).image),
  },
  logs: {
    usage:
      "logs SERVICE [--node NODE [--worker I] | --all] [-f] [--tail N] [--since D|T] [--timestamps] [-p]",
    summary:
      "a worker's output, streamed from its node (-f: follow until Ctrl-C); without --node every worker's, prefixed [node/index]",
    flags: ["node", "worker", "follow", "tail", "since", "timestamps", "previous", "all", "namespace"],
    run: logs,
  },
  exec: {
    usage: "exec SERVICE --node NODE [--worker I] [-i] [-t] -- COMMAND [ARGS...]",
    summary:
      "run a command in a worker (its directory, environment and user; a container: docker exec); exits with its code",
    flags: ["node", "worker", "stdin", "tty", "namespace"],
    run: lazy(async () => (await import("../ctl/exec.ts")).exec),
  },
  restart: {
    usage: "restart SERVICE --node NODE [--worker I] [-n NS]",
    summary: "restart one worker: the node stops it and starts it again at once (or when it is back online)",
    flags: ["node", "worker", "namespace", "output"],
    run: lazy(async () => (await import("../ctl/restart.ts")).restart),
  },
  cordon: {
    usage: "cordon NODE",
    summary:
      "place no new nodeSelector workers on a node (its running workers stay); get nodes shows SchedulingDisabled",
    flags: ["output"],
    run: lazy(async () => (await import("../ctl/drain.ts")).cordon),
  },
  uncordon: {
    usage: "uncordon NODE",
    summary: "place nodeSelector workers on a cordoned or drained node again",
    flags: ["output"],
    run: lazy(async () => (await import("../ctl/drain.ts")).uncordon),
  },
  drain: {
    usage: "drain NODE",
    summary:
      "cordon a node and move its nodeSelector workers to the other matching nodes (theirs ready first); says which workers are pinned to it by name and stay",
    details:
      "A worker leaves the node only once every other matching Ready node runs its workers of the service ready, so the service always has a ready worker; with no other matching node the workers are held where they are. Workers placed with node: NAME (and Dayu's, pinned by node name) stay. levee ctl uncordon NODE ends it.",
    flags: ["output"],
    run: lazy(async () => (await import("../ctl/drain.ts")).drain),
  },
  node: {
    usage: "node set-bandwidth NODE RATE|none",
    summary:
      "cap a node's artifact downloads (e.g. 1MiB/s), all together; its own --download-bandwidth can only be lower; none: no cap from the cloud",
    flags: ["output"],
    args: ["set-bandwidth"],
    run: lazy(async () => (await import("../ctl/node-bandwidth.ts")).nodeCommand),
  },
  schema: {
    usage: "schema KIND",
    summary: "print the JSON Schema of a manifest kind (no server needed)",
    args: kindWords((k) => k.resource),
    run: lazy(async () => (await import("../ctl/schema.ts")).schema),
  },
  "broker-config": {
    usage: "broker-config mosquitto [--out-dir DIR]",
    summary: "write the password and ACL files for an external Mosquitto",
    flags: ["outDir"],
    args: ["mosquitto"],
    run: lazy(async () => (await import("../ctl/broker-config.ts")).brokerConfig),
  },
  kubeconfig: {
    usage: "kubeconfig [-n NAMESPACE] [-o yaml|json]",
    summary: "print a kubeconfig for kubectl against the cloud's Kubernetes API (holds the admin token)",
    flags: ["namespace", "output"],
    run: lazy(async () => (await import("../ctl/kubeconfig.ts")).kubeconfig),
  },
  backup: {
    usage: "backup FILE [--artifacts]",
    summary:
      "save a consistent copy of the cloud (store, tokens, CAs; artifacts with --artifacts) to FILE (restore: levee cloud --restore FILE)",
    flags: ["artifacts"],
    run: lazy(async () => (await import("../ctl/backup.ts")).backup),
  },
  status: {
    usage: "status",
    summary: "show whether the cloud API is up and ready, and why not",
    run: lazy(async () => (await import("../ctl/status.ts")).status),
  },
  config: {
    usage:
      "config get-contexts | current-context | use-context NAME | set-context NAME [--server URL] [--token-file FILE]",
    summary: "contexts: the clusters this client knows (server and token file each), and which one it uses",
    details: [
      "The contexts are kept in $XDG_CONFIG_HOME/levee/ctl.yaml (default ~/.config/levee/ctl.yaml).",
      "--context NAME (env LEVEE_CONTEXT) picks one for one command; without it the current context",
      "applies unless --data-dir is given. --server, --token and --token-file still win over it.",
    ].join("\n"),
    flags: ["server", "tokenFile"],
    args: ["get-contexts", "current-context", "use-context", "set-context", "delete-context"],
    run: lazy(async () => (await import("../ctl/contexts.ts")).config),
  },
  completion: {
    usage: "completion bash|zsh|fish",
    summary: "print the shell completion script (commands, subcommands, flags, kinds)",
    details: [
      "bash: source <(levee ctl completion bash)   (or write it to /etc/bash_completion.d/levee)",
      "zsh:  source <(levee ctl completion zsh)    (in ~/.zshrc)",
      "fish: levee ctl completion fish > ~/.config/fish/completions/levee.fish",
    ].join("\n"),
    args: ["bash", "zsh", "fish"],
    run: async (ctx) => {
      const { completion } = await import("../ctl/completion-command.ts");
      return completion(ctx, completionSpec(ctx.commands));
    },
  },
};

const NAMES = Object.keys(SUBCOMMANDS).join(", ");

/** The entry of a subcommand name, or undefined. */
function entryOf(sub: string | undefined): Entry | undefined {
  return sub !== undefined && Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
}

function unknownSubcommand(sub: string): UsageError {
  const hint = didYouMean(sub, Object.keys(SUBCOMMANDS));
  return new UsageError(`levee ctl: unknown subcommand "${sub}"${hint}; one of: ${NAMES}`);
}

/** What completes where: levee's commands and their flags, ctl's subcommands with theirs. */
function completionSpec(commands: readonly Command[]): CompletionSpec {
  return {
    commands: commands.map((c) => ({
      name: c.name,
      flags: flagWords(c.options),
      ...(c.name === "ctl"
        ? {
            subcommands: [
              ...Object.entries(SUBCOMMANDS).map(([name, e]) => ({
                name,
                flags: flagWords([...(e.flags ?? []), ...CONNECTION_FLAGS]),
                args: e.args ?? [],
              })),
              { name: "help", flags: [], args: Object.keys(SUBCOMMANDS) },
            ],
          }
        : {}),
    })),
  };
}

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
    "Run 'levee ctl SUBCOMMAND --help' (or 'levee ctl help SUBCOMMAND') for one subcommand.",
  ].join("\n"),
  options: optionsFor("ctl"),
  optionsForArgs: (argv) => ctlKeysFor(argv, optionsFor("ctl")),
  positionals: true,
  helpFor: (positionals) => {
    const entry = entryOf(positionals[0]);
    return entry ? subcommandHelp(entry) : undefined;
  },
  async run({ options, positionals, env, commands }) {
    const [sub, ...rest] = positionals;
    if (!sub) throw new UsageError(`levee ctl: missing subcommand; one of: ${NAMES}`);
    if (sub === "help") {
      const [topic] = rest;
      const entry = entryOf(topic);
      if (topic && !entry) throw unknownSubcommand(topic);
      process.stdout.write(entry ? subcommandHelp(entry) : commandHelp(ctlCommand));
      return 0;
    }
    const entry = entryOf(sub);
    if (!entry) throw unknownSubcommand(sub);
    try {
      return await entry.run(makeContext(rest, options as Options, env, commands ?? []));
    } catch (err) {
      if (!(err instanceof UsageError) && !(err instanceof CtlFailure)) throw err;
      const lines = [`levee ctl ${sub}: ${describeError(err)}`];
      if (err instanceof CtlFailure) lines.push(...err.details);
      process.stderr.write(`${lines.join("\n")}\n`);
      return err.exitCode;
    }
  },
});
