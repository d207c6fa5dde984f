// JSON merge patch (RFC 7386) and JSON patch (RFC 6902) on copies; failures as Kubernetes errors.
import { describe, expect, test } from "bun:test";
import { jsonPatch, mergePatch } from "../../src/kube/patch.ts";

describe("merge patch", () => {
  test("objects merge, null deletes, lists and scalars replace; the target is untouched", () => {
    const target = { a: 1, b: { c: 2, d: 3 }, list: [1, 2] };
    expect(mergePatch(target, { b: { c: null, e: 4 }, list: [3], f: "x" })).toEqual({
      a: 1,
      b: { d: 3, e: 4 },
      list: [3],
      f: "x",
    });
    expect(target).toEqual({ a: 1, b: { c: 2, d: 3 }, list: [1, 2] });
  });
});

describe("json patch", () => {
  test("add, replace, remove, move, copy, test", () => {
    const doc = { spec: { items: ["a", "b"], n: 1 }, meta: { x: 1 } };
    const out = jsonPatch(doc, [
      { op: "add", path: "/spec/items/-", value: "c" },
      { op: "replace", path: "/spec/n", value: 2 },
      { op: "remove", path: "/meta/x" },
      { op: "copy", from: "/spec/n", path: "/meta/copied" },
      { op: "move", from: "/spec/items/0", path: "/meta/first" },
      { op: "test", path: "/spec/n", value: 2 },
    ]);
    expect(out).toEqual({ spec: { items: ["b", "c"], n: 2 }, meta: { copied: 2, first: "a" } });
    expect(doc.spec.items).toEqual(["a", "b"]);
  });

  test("a failed test is a Conflict; a missing path is Invalid; nothing half-applied", () => {
    const doc = { a: 1 };
    expect(() =>
      jsonPatch(doc, [
        { op: "replace", path: "/a", value: 2 },
        { op: "test", path: "/a", value: 1 },
      ]),
    ).toThrow(/test failed/);
    expect(() => jsonPatch(doc, [{ op: "replace", path: "/nope", value: 2 }])).toThrow(/does not exist/);
    expect(() => jsonPatch(doc, { op: "add" })).toThrow(/list of operations/);
    expect(doc).toEqual({ a: 1 });
  });
});
