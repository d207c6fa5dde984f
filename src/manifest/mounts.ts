// Files a worker gets (the `mounts:` list of a template). Each mount has exactly one source:
//   hostPath  a path on the node (absolute, or relative to `prefix`), checked against `pathType`
//   config    the files of a Config object, written atomically with `mode`
//   secret    the values of a Secret object, as files (mode 0400 unless said otherwise)
//   artifact  a content-addressed blob fetched from the cloud, verified by sha256
//   shared    a scratch directory shared by the workers of one node that name it (Dayu's /temp)
// Container workers get it bind-mounted at `target`; exec workers get the host path in the
// variable `envName`. `changeMode` says what a change of a config or artifact does to the worker.
import { z } from "zod";
import { artifactRefShape } from "./artifact.ts";
import { absolutePath, envName, fileMode, fileName, relativePath } from "./fields.ts";
import { exactlyOne, strict } from "./issues.ts";
import { dnsLabel, dnsSubdomain } from "./meta.ts";
import { secretPlanKey } from "./secret.ts";

export const PATH_TYPES = [
  "DirectoryOrCreate",
  "Directory",
  "FileOrCreate",
  "File",
  "Socket",
  "CharDevice",
  "BlockDevice",
] as const;

const hostPathSource = strict({
  path: z.string().min(1),
  prefix: absolutePath.optional().meta({ description: "directory a relative path is joined to" }),
  pathType: z
    .enum(PATH_TYPES)
    .optional()
    .meta({ description: "checked on the node before the worker starts" }),
}).superRefine((source, ctx) => {
  const schema = source.path.startsWith("/") ? absolutePath : relativePath;
  const result = schema.safeParse(source.path);
  for (const issue of result.error?.issues ?? [])
    ctx.addIssue({ code: "custom", message: issue.message, path: ["path"] });
  if (!source.path.startsWith("/") && source.prefix === undefined) {
    ctx.addIssue({
      code: "custom",
      message: "a relative path needs a prefix (or use an absolute path)",
      path: ["path"],
    });
  }
});

/**
 * The source of a config or secret mount: the object's name (in a manifest a DNS label, checked by a
 * Service's templateProblems: an object of the Service's own namespace; a node's plan names it by
 * its key, `name.namespace` outside the namespace default), which entries, and the files' mode.
 */
function objectFilesSource(kind: "Config" | "Secret", entries: string, mode: string) {
  return strict({
    name: dnsSubdomain.meta({ description: `name of the ${kind} object (in the Service's namespace)` }),
    items: z
      .array(strict({ key: fileName, path: relativePath }))
      .optional()
      .meta({
        description: `only these ${entries}, under these paths; default: every ${entries.slice(0, -1)} under its own name`,
      }),
    mode: fileMode.default(mode),
  });
}

const configSource = objectFilesSource("Config", "files", "0644");
const secretSource = objectFilesSource("Secret", "keys", "0400");

const artifactSource = strict({
  ...artifactRefShape,
  // The file is written at <mount dir>/<path ?? name>: both are one file name, never a path.
  name: fileName.optional().meta({ description: "the artifact's file name (the default `path`)" }),
  path: fileName.optional().meta({ description: "file name under the target; default: the artifact's name" }),
});

const sharedSource = strict({ name: dnsLabel.meta({ description: "name of the node's shared directory" }) });

const changeMode = z
  .string()
  .regex(
    /^(restart|none|signal:(SIG)?[A-Z][A-Z0-9+-]*)$/,
    'expected "restart", "none" or "signal:NAME", e.g. "signal:HUP"',
  )
  .meta({ description: "what a change of the files does: restart (default), signal:NAME or none" });

const SOURCES = ["hostPath", "config", "secret", "artifact", "shared"] as const;

export const mountSchema = strict({
  hostPath: hostPathSource.optional(),
  config: configSource.optional(),
  secret: secretSource.optional(),
  artifact: artifactSource.optional(),
  shared: sharedSource.optional(),
  target: absolutePath
    .optional()
    .meta({ description: "path inside the container (required for containers)" }),
  envName: envName.optional().meta({ description: "variable that receives the mounted path" }),
  readOnly: z.boolean().optional(),
  changeMode: changeMode.optional(),
})
  .superRefine(exactlyOne(SOURCES, "mount"))
  .superRefine((mount, ctx) => {
    if (
      mount.changeMode !== undefined &&
      mount.config === undefined &&
      mount.secret === undefined &&
      mount.artifact === undefined
    ) {
      ctx.addIssue({
        code: "custom",
        message: "changeMode applies to config, secret and artifact mounts",
        path: ["changeMode"],
      });
    }
  });

export type Mount = z.output<typeof mountSchema>;

/** A list of mounts: targets and envNames are unique. */
export const mountsSchema = z.array(mountSchema).superRefine((mounts, ctx) => {
  for (const field of ["target", "envName"] as const) {
    const seen = new Map<string, number>();
    mounts.forEach((mount, i) => {
      const value = mount[field];
      if (value === undefined) return;
      const first = seen.get(value);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          message: `${field} ${JSON.stringify(value)} is already used by mounts[${first}]`,
          path: [i, field],
        });
      } else seen.set(value, i);
    });
  }
});

/** A mount's source as a tagged value, for a `switch`. */
export type MountSource =
  | { kind: "hostPath"; hostPath: NonNullable<Mount["hostPath"]> }
  | { kind: "config"; config: NonNullable<Mount["config"]> }
  | { kind: "secret"; secret: NonNullable<Mount["secret"]> }
  | { kind: "artifact"; artifact: NonNullable<Mount["artifact"]> }
  | { kind: "shared"; shared: NonNullable<Mount["shared"]> };

/** The source of a validated mount (exactly one is set). */
export function mountSource(mount: Mount): MountSource {
  if (mount.hostPath) return { kind: "hostPath", hostPath: mount.hostPath };
  if (mount.config) return { kind: "config", config: mount.config };
  if (mount.secret) return { kind: "secret", secret: mount.secret };
  if (mount.artifact) return { kind: "artifact", artifact: mount.artifact };
  if (mount.shared) return { kind: "shared", shared: mount.shared };
  throw new Error("mount has no source: it was not validated");
}

/** The files of a config or secret mount: what the plan calls its object, and how it shows them. */
export interface FilesMount {
  /** The object's name in the plan's configFiles (a Secret's: secretPlanKey). */
  planName: string;
  /** For messages: 'Config "app"' or 'Secret "db"'. */
  label: string;
  /** The object's name as the mount writes it. */
  name: string;
  /** The mount's field: "config" or "secret". */
  field: "config" | "secret";
  items?: { key: string; path: string }[] | undefined;
  mode: string;
}

/** The files a mount shows from a Config or Secret, or undefined for other sources. */
export function filesMount(source: MountSource): FilesMount | undefined {
  if (source.kind === "config") {
    const { name, items, mode } = source.config;
    return { planName: name, name, label: `Config ${JSON.stringify(name)}`, field: "config", items, mode };
  }
  if (source.kind === "secret") {
    const { name, items, mode } = source.secret;
    const label = `Secret ${JSON.stringify(name)}`;
    return { planName: secretPlanKey(name), name, label, field: "secret", items, mode };
  }
  return undefined;
}
