// Helpers for the manifest tests: parse a body and get its issues or objects.
import { expect } from "bun:test";
import { type Issue, parseManifests, type Resource } from "../../src/manifest/manifest.ts";

/** The objects of a body that must be valid (fails the test with the issues otherwise). */
export function objectsOf(body: string, contentType?: string): Resource[] {
  const result = parseManifests(body, contentType);
  if (!result.ok) throw new Error(`unexpected issues: ${JSON.stringify(result.issues, null, 2)}`);
  return result.objects;
}

/** The issues of a body that must be invalid. */
export function issuesOf(body: string, contentType?: string): Issue[] {
  const result = parseManifests(body, contentType);
  if (result.ok) throw new Error("expected issues, the body parsed");
  return result.issues;
}

/** Asserts that the body has exactly one issue, at `path`, whose message matches. */
export function expectOneIssue(body: string, path: string, message: RegExp): Issue {
  const issues = issuesOf(body);
  expect(issues.map((i) => i.path)).toEqual([path]);
  const [issue] = issues;
  if (!issue) throw new Error("no issue");
  expect(issue.message).toMatch(message);
  return issue;
}

/** A Service manifest around a spec written in YAML (indented by four spaces under spec). */
export function serviceYaml(spec: string, name = "echo"): string {
  return `apiVersion: levee/v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n${indent(spec, 2)}`;
}

function indent(text: string, by: number): string {
  const lines = text.replace(/^\n+|\s+$/g, "").split("\n");
  const common = Math.min(
    ...lines.filter((l) => l.trim() !== "").map((l) => l.length - l.trimStart().length),
  );
  return `${lines.map((l) => " ".repeat(by) + l.slice(common)).join("\n")}\n`;
}

/** The issue's example, verbatim. */
export const ISSUE_EXAMPLE = `apiVersion: levee/v1
kind: Service
metadata: { name: echo, labels: {app: demo} }      # name: DNS label
spec:
  template:                                        # shared by all workers; a worker may override
    driver: exec                                   # exec | container
    command: ["node", "server.js"]                 # exec; container uses image (+ command/args)
    env: { GREETING: hello }                       # values are strings, passed byte-exact
    port: auto                                     # worker's listen port: a number, or auto (agent picks, passes PORT)
    health: { http: /health }                      # http | tcp | command
  workers:
    - node: edge1                                  # pin to a node by name ...
      replicas: 2
    - nodeSelector: { role: camera }               # ... or by labels
      template: { env: { MODE: fast } }            # per-worker override, env merged
  mesh: { port: 19100, protocol: http, balance: round-robin, fallback: none }   # used by the mesh issue
`;
