// Builders for Dayu manifests in the translation tests, and a translate() that goes the way the API
// goes: parseManifests (schema and the context-free check), then translateDayu with a context.
import { expect } from "bun:test";
import type { RawService, RawTemplate } from "../../../src/manifest/dayu/native.ts";
import type { DayuResource } from "../../../src/manifest/dayu/sedna-schema.ts";
import { type TranslateContext, translateDayu } from "../../../src/manifest/dayu/translate.ts";
import { type Issue, parseManifests } from "../../../src/manifest/manifest.ts";

type Obj = Record<string, unknown>;

export function container(image = "repo:5000/dayuhub/controller:v1.3", extra: Obj = {}): Obj {
  return { name: "main", image, ...extra };
}

export function env(vars: Record<string, string>): { name: string; value: string }[] {
  return Object.entries(vars).map(([name, value]) => ({ name, value }));
}

/** A Sedna worker: a pod on `node` with the given containers, plus worker fields (mounts, file...). */
export function worker(
  node: string,
  containers: Obj[] = [container()],
  extra: Obj = {},
  podExtra: Obj = {},
): Obj {
  return { template: { spec: { nodeName: node, containers, ...podExtra } }, ...extra };
}

export function jmes(spec: Obj, metadata: Obj = {}): Obj {
  return {
    apiVersion: "sedna.io/v1alpha1",
    kind: "JointMultiEdgeService",
    metadata: { name: "controller", namespace: "dayu", ...metadata },
    spec,
  };
}

export function runtimeService(spec: Obj, metadata: Obj = {}): Obj {
  return {
    apiVersion: "sedna.io/v1alpha1",
    kind: "RuntimeService",
    metadata: { name: "processor-edge1-r1", namespace: "dayu", ...metadata },
    spec: {
      installID: "dayu",
      deploymentRevision: 1,
      component: "processor",
      targetNode: "edge1",
      ...spec,
    },
  };
}

/** A context with no image rules and a fixed port for services without a nodePort. */
export function context(extra: Partial<TranslateContext> = {}): TranslateContext {
  return { rules: [], meshPort: (_service, requested) => requested ?? 31000, ...extra };
}

export interface Translated {
  service: RawService;
  warnings: { path: string; message: string }[];
}

/** Parses the objects (must be valid) and translates the Dayu one. */
export function translate(object: Obj, ctx: TranslateContext = context(), more: Obj[] = []): Translated {
  const parsed = parseManifests(JSON.stringify([...more, object]));
  if (!parsed.ok) throw new Error(`unexpected issues: ${JSON.stringify(parsed.issues, null, 2)}`);
  const dayu = parsed.objects.at(-1) as DayuResource;
  const result = translateDayu(dayu, ctx);
  if (result.issues.length > 0)
    throw new Error(`unexpected issues: ${JSON.stringify(result.issues, null, 2)}`);
  const [service] = result.services;
  if (!service) throw new Error("no service");
  return { service, warnings: result.warnings };
}

/** The issues of an object the API refuses (parse-time: schema and translation). */
export function issuesOf(object: Obj): Issue[] {
  const parsed = parseManifests(JSON.stringify(object));
  if (parsed.ok) throw new Error("expected issues, the object parsed");
  return parsed.issues;
}

export function expectIssue(object: Obj, path: string, message: RegExp): void {
  const issues = issuesOf(object);
  const found = issues.find((i) => i.path === path);
  if (!found) throw new Error(`no issue at ${path}: ${JSON.stringify(issues, null, 2)}`);
  expect(found.message).toMatch(message);
}

/** The template worker i runs: the shared one with its override (env merged), as the planner does. */
export function resolved(service: RawService, i: number): RawTemplate {
  const entry = service.spec.workers[i];
  if (!entry) throw new Error(`no worker ${i}`);
  const override = entry.template ?? {};
  return { ...service.spec.template, ...override, env: { ...service.spec.template.env, ...override.env } };
}

export function warningAt(warnings: readonly { path: string; message: string }[], path: string): string {
  const found = warnings.find((w) => w.path === path);
  if (!found) throw new Error(`no warning at ${path}: ${JSON.stringify(warnings, null, 2)}`);
  return found.message;
}
