// The field-by-field difference of two specs: nested keys and array items by path, added and
// removed values whole, equal values nothing, keys that are not plain words quoted.
import { expect, test } from "bun:test";
import { diffSpecs } from "../../src/manifest/spec-diff.ts";

test("equal specs: no change; key order does not matter", () => {
  expect(diffSpecs({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toEqual([]);
});

test("a changed leaf deep inside, by its path", () => {
  const before = { template: { env: { MODE: "a", KEEP: "x" } }, workers: [{ node: "e1" }, { node: "e2" }] };
  const after = { template: { env: { MODE: "b", KEEP: "x" } }, workers: [{ node: "e1" }, { node: "e3" }] };
  expect(diffSpecs(before, after, "spec")).toEqual([
    { path: "spec.template.env.MODE", op: "changed", before: "a", after: "b" },
    { path: "spec.workers[1].node", op: "changed", before: "e2", after: "e3" },
  ]);
});

test("added and removed keys and array items, whole; undefined is absent", () => {
  expect(
    diffSpecs({ a: 1, gone: { x: 1 }, list: [1, 2, 3], u: undefined }, { a: 1, list: [1], added: [5] }),
  ).toEqual([
    { path: "added", op: "added", after: [5] },
    { path: "gone", op: "removed", before: { x: 1 } },
    { path: "list[1]", op: "removed", before: 2 },
    { path: "list[2]", op: "removed", before: 3 },
  ]);
});

test("a type change is one change; keys with dots or slashes are quoted", () => {
  expect(diffSpecs({ v: [1] }, { v: { 0: 1 } })).toEqual([
    { path: "v", op: "changed", before: [1], after: { 0: 1 } },
  ]);
  expect(diffSpecs({ labels: { "app.io/x": "1" } }, { labels: { "app.io/x": "2" } }, "metadata")).toEqual([
    { path: 'metadata.labels["app.io/x"]', op: "changed", before: "1", after: "2" },
  ]);
  expect(diffSpecs("a", "b")).toEqual([{ path: "", op: "changed", before: "a", after: "b" }]);
});
