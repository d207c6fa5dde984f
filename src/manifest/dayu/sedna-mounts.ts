// Files for a Dayu worker, with Sedna's rules (dayu-sedna controllers/jointmultiedge/mounts.go):
//   mounts[]   hostPath: a relative path is joined to `prefix`; target.path, or with none an absolute
//              source keeps its path and a relative one goes under /home/data/<path>; pathType is
//              checked on the node; envName exports the final path (in the container: the target).
//              configMap → a levee Config of that name, secret → a levee Secret of that name; emptyDir → a directory shared by the
//              pod's containers (private to the pod, as in Kubernetes); persistentVolumeClaim: refused.
//              containers[] limits a mount to the named containers.
//   file       the legacy paths: each distinct directory is mounted at /home/data/volume<i>, and
//              VOLUME_NUM / VOLUME_<i> (the host directory) are set.
//   volumes    a pod's own volumes and volumeMounts (hostPath, emptyDir, configMap, secret).
// Character and block devices become `devices` of a container worker (a bind mount would not grant
// access to them); a process worker (ImageMap) uses them in place.
import { posix } from "node:path";
import { sha256Hex } from "../canonical.ts";
import { dnsLabel } from "../meta.ts";
import type { RawMount } from "./native.ts";
import type { PodSpec, VolumeMount } from "./pod-schema.ts";
import type { SednaMount, SednaWorker } from "./sedna-schema.ts";
import type { Path, Report } from "./warnings.ts";

export const DATA_PATH_PREFIX = "/home/data";

/** One mount as it will be given to some containers of the pod. */
export interface PlannedMount {
  /** Container names it is for; undefined: all of the pod's containers. */
  containers?: string[] | undefined;
  mount: RawMount & { target: string };
  /** A character or block device (hostPath pathType CharDevice/BlockDevice). */
  device: boolean;
  /** Its path is exported another way (the legacy VOLUME_<i>). */
  exported?: boolean;
  at: Path;
}

export interface PodMounts {
  planned: PlannedMount[];
  /** Variables the legacy `file` sets (VOLUME_NUM, VOLUME_<i>). */
  env: Record<string, string>;
}

/** Where the pod's own directories (emptyDir) are kept apart (service and pod), and what exists. */
export interface PodScope {
  service: string;
  pod: string;
  /** Whether a levee Config (or Secret) of this name exists (or comes with the same manifests). */
  configExists?: ((name: string, kind?: "Config" | "Secret") => boolean) | undefined;
}

/** Go's filepath.Clean for the cases that matter: "a//b/./c/" → "a/b/c". */
export function cleanPath(path: string): string {
  const normal = posix.normalize(path);
  return normal.length > 1 && normal.endsWith("/") ? normal.slice(0, -1) : normal;
}

function escapes(clean: string): boolean {
  return clean === ".." || clean.startsWith("../");
}

/** Sedna's explicit mounts and the legacy file paths of one worker. */
export function sednaMounts(worker: SednaWorker, path: Path, scope: PodScope, report: Report): PodMounts {
  const planned: PlannedMount[] = [];
  const env = legacyFiles(worker, path, planned, report);
  (worker.mounts ?? []).forEach((mount, i) => {
    const one = sednaMount(mount, i, [...path, "mounts", i], scope, report);
    if (one) planned.push(one);
  });
  return { planned, env };
}

function legacyFiles(worker: SednaWorker, path: Path, planned: PlannedMount[], report: Report) {
  const env: Record<string, string> = { VOLUME_NUM: "0" };
  const file = worker.file;
  if (!file) return env;
  report.unknownFields(file, ["path", "paths"], [...path, "file"]);
  const paths = [...new Set([file.path ?? "", ...(file.paths ?? [])].filter((p) => p !== ""))];
  const dirs: string[] = [];
  for (const p of paths) {
    const dir = posix.dirname(cleanPath(p));
    if (!posix.isAbsolute(dir)) {
      report.issue(
        [...path, "file"],
        `${JSON.stringify(p)}: expected an absolute path (its directory is mounted)`,
      );
      continue;
    }
    if (!dirs.includes(dir)) dirs.push(dir);
  }
  dirs.forEach((dir, i) => {
    env[`VOLUME_${i}`] = dir;
    planned.push({
      mount: { hostPath: { path: dir }, target: posix.join(DATA_PATH_PREFIX, `volume${i}`) },
      device: false,
      exported: true,
      at: [...path, "file"],
    });
  });
  env.VOLUME_NUM = String(dirs.length);
  return env;
}

const SOURCES = ["hostPath", "persistentVolumeClaim", "configMap", "secret", "emptyDir"] as const;

function sednaMount(mount: SednaMount, index: number, at: Path, scope: PodScope, report: Report) {
  report.unknownFields(mount, ["name", "source", "target", "containers", "envName"], at);
  const { source } = mount;
  report.unknownFields(source, ["type", ...SOURCES], [...at, "source"]);
  const present = SOURCES.filter((s) => source[s] !== undefined && source[s] !== null);
  let type = source.type ?? undefined;
  if (type === undefined) {
    if (present.length !== 1) {
      report.issue(
        [...at, "source"],
        present.length === 0
          ? "set the source: one of hostPath, configMap, secret, emptyDir"
          : `the source is ambiguous: ${present.join(" and ")}; set type`,
      );
      return undefined;
    }
    type = present[0];
  } else {
    for (const other of present.filter((s) => s !== type))
      report.warn([...at, "source", other], `ignored: the source type is ${type}`);
  }
  const target = mount.target ?? {};
  report.unknownFields(target, ["path", "readOnly", "subPath", "mountPropagation"], [...at, "target"]);
  const name = mount.name || `mount-${index}`;
  const rendered = renderSource(
    { type: type as (typeof SOURCES)[number], source, name },
    {
      path: target.path ?? undefined,
      subPath: target.subPath ?? undefined,
      readOnly: target.readOnly ?? false,
    },
    {
      source: [...at, "source"],
      targetPath: [...at, "target", "path"],
      subPath: [...at, "target", "subPath"],
    },
    scope,
    report,
  );
  if (!rendered) return undefined;
  if (target.mountPropagation)
    report.warn([...at, "target", "mountPropagation"], "mount propagation is not supported; ignored");
  if (mount.envName) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(mount.envName)) {
      report.issue([...at, "envName"], "expected a variable name: letters, digits and '_'");
      return undefined;
    }
    rendered.mount.envName = mount.envName;
  }
  const planned: PlannedMount = { ...rendered, at };
  if (mount.containers && mount.containers.length > 0) planned.containers = [...mount.containers];
  return planned;
}

interface SourceInput {
  type: (typeof SOURCES)[number];
  source: SednaMount["source"];
  name: string;
}

interface TargetInput {
  path: string | undefined;
  subPath: string | undefined;
  readOnly: boolean;
}

/** Where the source and the target fields are in the manifest (for issues). */
interface Where {
  source: Path;
  targetPath: Path;
  subPath: Path;
}

/** A mount source with Sedna's target rules, or undefined after an issue. */
function renderSource(
  input: SourceInput,
  target: TargetInput,
  where: Where,
  scope: PodScope,
  report: Report,
): { mount: RawMount & { target: string }; device: boolean } | undefined {
  const src = where.source;
  if (target.path !== undefined && target.path !== "" && !posix.isAbsolute(target.path)) {
    report.issue(where.targetPath, "expected an absolute path inside the container");
    return undefined;
  }
  const explicitTarget = target.path ? cleanPath(target.path) : undefined;
  const leafTarget = (leaf: string) => explicitTarget ?? posix.join(DATA_PATH_PREFIX, posix.basename(leaf));
  const withSubPath = (what: string) => {
    if (!target.subPath) return true;
    report.issue(where.subPath, `subPath is supported for hostPath sources only, not ${what}`);
    return false;
  };
  switch (input.type) {
    case "hostPath": {
      const hostPath = input.source.hostPath;
      if (!hostPath) {
        report.issue([...src, "hostPath", "path"], "required for a hostPath mount");
        return undefined;
      }
      report.unknownFields(hostPath, ["path", "prefix", "pathType"], [...src, "hostPath"]);
      let clean = cleanPath(hostPath.path);
      if (escapes(clean)) {
        report.issue([...src, "hostPath", "path"], "must not lead outside its prefix ('..')");
        return undefined;
      }
      const prefix = hostPath.prefix?.trim() ? cleanPath(hostPath.prefix.trim()) : undefined;
      const absolute = posix.isAbsolute(clean);
      if (!absolute && prefix === undefined) {
        report.issue(
          [...src, "hostPath", "path"],
          "a relative path needs a prefix (or use an absolute path)",
        );
        return undefined;
      }
      if (!absolute && prefix !== undefined && !posix.isAbsolute(prefix)) {
        report.issue([...src, "hostPath", "prefix"], "expected an absolute path");
        return undefined;
      }
      // Without a target: an absolute source keeps its path, a relative one goes under /home/data.
      const to = explicitTarget ?? (absolute ? clean : posix.join(DATA_PATH_PREFIX, clean));
      if (target.subPath) {
        const sub = cleanPath(target.subPath);
        if (posix.isAbsolute(sub) || escapes(sub)) {
          report.issue(where.subPath, "expected a relative path inside the source");
          return undefined;
        }
        clean = posix.join(clean, sub);
      }
      const pathType = hostPath.pathType || undefined;
      const mount: RawMount & { target: string } = {
        hostPath: {
          path: clean,
          ...(absolute || prefix === undefined ? {} : { prefix }),
          ...(pathType ? { pathType } : {}),
        },
        target: to,
      };
      if (target.readOnly) mount.readOnly = true;
      return { mount, device: pathType === "CharDevice" || pathType === "BlockDevice" };
    }
    case "configMap":
    case "secret": {
      const ref =
        input.type === "configMap"
          ? { name: input.source.configMap?.name, optional: input.source.configMap?.optional }
          : { name: input.source.secret?.secretName, optional: input.source.secret?.optional };
      const field = input.type === "configMap" ? "name" : "secretName";
      if (!ref.name) {
        report.issue([...src, input.type, field], `required for a ${input.type} mount`);
        return undefined;
      }
      // A ConfigMap's files come from the levee Config of its name, a Secret's from the levee Secret.
      const levee = input.type === "configMap" ? "Config" : "Secret";
      const valid = dnsLabel.safeParse(ref.name);
      if (!valid.success) {
        report.issue(
          [...src, input.type, field],
          `the levee ${levee} it reads: ${valid.error.issues[0]?.message}`,
        );
        return undefined;
      }
      if (!withSubPath(input.type)) return undefined;
      const kind = input.type === "configMap" ? "ConfigMap" : "Secret";
      if (!scope.configExists?.(ref.name, levee))
        report.warn(
          [...src, input.type],
          `the files of ${kind} ${ref.name} are read from the levee ${levee} ${ref.name}, which does not exist: apply one (kind: ${levee})`,
        );
      if (ref.optional)
        report.warn(
          [...src, input.type, "optional"],
          `not supported: the worker waits until the ${levee} exists; ignored`,
        );
      // Kubernetes' secret volumes default to mode 0644 (defaultMode): Dayu's images expect it.
      const source =
        levee === "Config" ? { config: { name: ref.name } } : { secret: { name: ref.name, mode: "0644" } };
      return { mount: { ...source, target: leafTarget(ref.name), readOnly: true }, device: false };
    }
    case "emptyDir": {
      const emptyDir = input.source.emptyDir ?? {};
      report.unknownFields(emptyDir, ["medium", "sizeLimit"], [...src, "emptyDir"]);
      if (emptyDir.medium)
        report.warn([...src, "emptyDir", "medium"], "not supported: the directory is on disk; ignored");
      if (emptyDir.sizeLimit !== undefined && emptyDir.sizeLimit !== null)
        report.warn([...src, "emptyDir", "sizeLimit"], "not enforced; ignored");
      if (!withSubPath("emptyDir")) return undefined;
      const mount: RawMount & { target: string } = {
        shared: { name: sharedName(scope, input.name) },
        target: leafTarget(input.name),
      };
      if (target.readOnly) mount.readOnly = true;
      return { mount, device: false };
    }
    case "persistentVolumeClaim":
      report.issue(
        [...src, "persistentVolumeClaim"],
        "not supported: levee has no volumes; use a hostPath (a directory on the node) or an artifact",
      );
      return undefined;
  }
}

/**
 * The shared directory that stands for a pod's emptyDir: one per (service, pod, volume), so the
 * pod's containers share it and other pods do not. A name too long for a DNS label is shortened
 * with a hash.
 */
export function sharedName(scope: PodScope, volume: string): string {
  const wanted = `${scope.service}-${scope.pod}-${volume}`.toLowerCase();
  if (dnsLabel.safeParse(wanted).success) return wanted;
  const hash = sha256Hex(`${scope.service}\0${scope.pod}\0${volume}`).slice(0, 10);
  const head = wanted
    .replace(/[^a-z0-9-]+/g, "-")
    .slice(0, 40)
    .replace(/^-+|-+$/g, "");
  return head ? `${head}-${hash}` : `dir-${hash}`;
}

/** The pod's own volumes, as mounted by one container's volumeMounts. */
export function podVolumeMounts(
  pod: PodSpec,
  podPath: Path,
  mounts: readonly VolumeMount[],
  mountsPath: Path,
  scope: PodScope,
  report: Report,
): PlannedMount[] {
  const out: PlannedMount[] = [];
  mounts.forEach((volumeMount, i) => {
    const at = [...mountsPath, i];
    report.unknownFields(volumeMount, ["name", "mountPath", "readOnly", "subPath"], at, {
      mountPropagation: "mount propagation is not supported; ignored",
    });
    const index = (pod.volumes ?? []).findIndex((v) => v.name === volumeMount.name);
    const volume = pod.volumes?.[index];
    if (!volume) {
      report.issue(
        [...at, "name"],
        `no volume named ${JSON.stringify(volumeMount.name)} in the pod's volumes`,
      );
      return;
    }
    const volumePath = [...podPath, "volumes", index];
    const types = (["hostPath", "emptyDir", "configMap", "secret"] as const).filter(
      (t) => volume[t] !== undefined && volume[t] !== null,
    );
    const type = types[0];
    if (type === undefined) {
      const kinds = Object.keys(volume).filter((k) => k !== "name");
      report.issue(
        volumePath,
        `volume ${volume.name}: ${kinds.length > 0 ? kinds.join(", ") : "no source"} is not supported ` +
          "(hostPath, emptyDir, configMap and secret are)",
      );
      return;
    }
    const source: SednaMount["source"] = {};
    if (type === "hostPath" && volume.hostPath) {
      source.hostPath = { path: volume.hostPath.path, pathType: volume.hostPath.type ?? undefined };
    } else if (type === "emptyDir") source.emptyDir = volume.emptyDir ?? {};
    else if (type === "configMap") source.configMap = volume.configMap ?? undefined;
    else if (type === "secret") source.secret = volume.secret ?? undefined;
    const rendered = renderSource(
      { type, source, name: volume.name },
      {
        path: volumeMount.mountPath,
        subPath: volumeMount.subPath ?? undefined,
        readOnly: volumeMount.readOnly ?? false,
      },
      { source: volumePath, targetPath: [...at, "mountPath"], subPath: [...at, "subPath"] },
      scope,
      report,
    );
    if (rendered) out.push({ ...rendered, at });
  });
  return out;
}
