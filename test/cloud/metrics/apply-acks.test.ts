import { describe, expect, test } from "bun:test";
import { ApplyAcks } from "../../../src/cloud/metrics/apply-acks.ts";

function tracker(max?: number) {
  let now = 1_000;
  const observed: number[] = [];
  const acks = new ApplyAcks(
    (s) => observed.push(s),
    () => now,
    max,
  );
  return { acks, observed, at: (ms: number) => (now = ms) };
}

describe("ApplyAcks", () => {
  test("a rollout is observed once, when the last node it changed acknowledged", () => {
    const { acks, observed, at } = tracker();
    acks.planned([
      { node: "a", revision: 3 },
      { node: "b", revision: 7 },
    ]);
    at(1_500);
    acks.applied("a", 3);
    expect(observed).toEqual([]);
    acks.applied("b", 6); // an older revision does not count
    expect(observed).toEqual([]);
    at(3_250);
    acks.applied("b", 7);
    expect(observed).toEqual([2.25]);
    acks.applied("b", 7);
    expect(observed).toEqual([2.25]);
    expect(acks.pending()).toBe(0);
  });

  test("a later revision acknowledges earlier rollouts too; each is timed from its own start", () => {
    const { acks, observed, at } = tracker();
    acks.planned([{ node: "a", revision: 1 }]);
    at(2_000);
    acks.planned([{ node: "a", revision: 2 }]);
    at(4_000);
    acks.applied("a", 2);
    expect(observed.sort()).toEqual([2, 3]);
  });

  test("a deleted node no longer holds a rollout back; empty changes are no rollout", () => {
    const { acks, observed, at } = tracker();
    acks.planned([]);
    expect(acks.pending()).toBe(0);
    acks.planned([
      { node: "a", revision: 1 },
      { node: "gone", revision: 1 },
    ]);
    acks.applied("a", 1);
    at(2_000);
    acks.forget("gone");
    expect(observed).toEqual([1]);
  });

  test("at most maxRollouts are kept: the oldest is forgotten, never observed", () => {
    const { acks, observed } = tracker(2);
    acks.planned([{ node: "silent", revision: 1 }]);
    acks.planned([{ node: "b", revision: 1 }]);
    acks.planned([{ node: "c", revision: 1 }]);
    expect(acks.pending()).toBe(2);
    acks.applied("silent", 1);
    expect(observed).toEqual([]);
    acks.applied("b", 1);
    acks.applied("c", 1);
    expect(observed).toEqual([0, 0]);
  });
});
