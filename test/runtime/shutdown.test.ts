// Shutdown closes everything in reverse order of start, even when one closer fails.
import { expect, test } from "bun:test";
import { createLogger } from "../../src/runtime/log.ts";
import { Lifecycle } from "../../src/runtime/shutdown.ts";

test("closers run once, in reverse order, past a failing one", async () => {
  const lines: string[] = [];
  const lifecycle = new Lifecycle(
    createLogger({ level: "info", format: "json", write: (l) => lines.push(l) }),
  );
  const order: string[] = [];
  lifecycle.add("store", () => {
    order.push("store");
  });
  lifecycle.add("broker", async () => {
    order.push("broker");
    throw new Error("socket already closed");
  });
  lifecycle.add("api", async () => {
    await Bun.sleep(5);
    order.push("api");
  });
  await Promise.all([lifecycle.shutdown(), lifecycle.shutdown()]);
  await lifecycle.done;
  expect(order).toEqual(["api", "broker", "store"]);
  expect(lines.some((l) => l.includes("socket already closed") && l.includes('"component":"broker"'))).toBe(
    true,
  );
});

test("stop listeners run once, before the first closer, past a failing one", async () => {
  const lifecycle = new Lifecycle(createLogger({ level: "info", format: "json", write: () => {} }));
  const order: string[] = [];
  lifecycle.add("api", () => {
    order.push("api");
  });
  lifecycle.onStop(() => {
    throw new Error("boom");
  });
  lifecycle.onStop(() => order.push("stopping"));
  await Promise.all([lifecycle.shutdown(), lifecycle.shutdown()]);
  expect(order).toEqual(["stopping", "api"]);
});
