// The kinds `levee ctl` knows and the words that name them: singular, plural and a short form
// (node|nodes|no, service|services|svc, config|configs|cfg, secret|secrets, worker|workers, route|routes, staging,
// namespace|namespaces|ns, grant|grants, imagemap|
// imagemaps, jointmultiedgeservice|jointmultiedgeservices|jmes, runtimeservice|runtimeservices|rts),
// in any case, so that `get svc`, `get Service` and `delete service/echo`-style habits from kubectl
// all work.
import { UsageError } from "../../runtime/errors.ts";
import { didYouMean } from "../did-you-mean.ts";

export type KindName =
  | "Node"
  | "Service"
  | "Config"
  | "Secret"
  | "Worker"
  | "Route"
  | "Staging"
  | "Namespace"
  | "Grant"
  | "ImageMap"
  | "JointMultiEdgeService"
  | "RuntimeService";

export interface KindInfo {
  kind: KindName;
  singular: string;
  /** The API collection: /api/v1/<plural>. */
  plural: string;
  short?: string;
  /** Stored objects with metadata (not the workers view). */
  resource: boolean;
  deletable: boolean;
}

export const KINDS: readonly KindInfo[] = [
  { kind: "Node", singular: "node", plural: "nodes", short: "no", resource: true, deletable: true },
  { kind: "Service", singular: "service", plural: "services", short: "svc", resource: true, deletable: true },
  { kind: "Config", singular: "config", plural: "configs", short: "cfg", resource: true, deletable: true },
  { kind: "Secret", singular: "secret", plural: "secrets", resource: true, deletable: true },
  { kind: "Worker", singular: "worker", plural: "workers", resource: false, deletable: false },
  { kind: "Route", singular: "route", plural: "routes", resource: false, deletable: false },
  { kind: "Staging", singular: "staging", plural: "staging", resource: false, deletable: false },
  {
    kind: "Namespace",
    singular: "namespace",
    plural: "namespaces",
    short: "ns",
    resource: true,
    deletable: true,
  },
  { kind: "Grant", singular: "grant", plural: "grants", resource: true, deletable: true },
  // Dayu (docs/DAYU.md).
  { kind: "ImageMap", singular: "imagemap", plural: "imagemaps", resource: true, deletable: true },
  {
    kind: "JointMultiEdgeService",
    singular: "jointmultiedgeservice",
    plural: "jointmultiedgeservices",
    short: "jmes",
    resource: true,
    deletable: true,
  },
  {
    kind: "RuntimeService",
    singular: "runtimeservice",
    plural: "runtimeservices",
    short: "rts",
    resource: true,
    deletable: true,
  },
];

/** The kind a word names, or undefined. */
export function resolveKind(word: string): KindInfo | undefined {
  const w = word.toLowerCase();
  return KINDS.find((k) => k.singular === w || k.plural === w || k.short === w);
}

/** Every word that names one of `kinds`: node, nodes, no, service, ... */
export function wordsOf(kinds: readonly KindInfo[] = KINDS): string[] {
  return kinds.flatMap(spellings);
}

/** A kind's words, each once (staging is its own plural). */
function spellings(k: KindInfo): string[] {
  return [...new Set([k.singular, k.plural, ...(k.short ? [k.short] : [])])];
}

/** Every accepted spelling of the kinds in `kinds`, for messages: "node|nodes|no, ...". */
export function kindWords(kinds: readonly KindInfo[] = KINDS): string {
  return kinds.map((k) => spellings(k).join("|")).join(", ");
}

/**
 * The kind a positional argument names, checked against what the subcommand accepts; a missing or
 * unknown kind is a usage error (exit 2) that lists the accepted words.
 */
export function kindArgument(
  word: string | undefined,
  accept: (k: KindInfo) => boolean = () => true,
  what = "KIND",
): KindInfo {
  const allowed = KINDS.filter(accept);
  if (word === undefined) throw new UsageError(`missing ${what}; one of: ${kindWords(allowed)}`);
  const info = resolveKind(word);
  if (!info) {
    const hint = didYouMean(word, wordsOf(allowed));
    throw new UsageError(`unknown kind "${word}"${hint}; one of: ${kindWords(allowed)}`);
  }
  if (!accept(info)) {
    throw new UsageError(`kind "${word}" is not supported here; one of: ${kindWords(allowed)}`);
  }
  return info;
}

/** `service/echo`: how objects are named in output lines. */
export function objectRef(kind: string, name: string): string {
  return `${kind.toLowerCase()}/${name}`;
}
