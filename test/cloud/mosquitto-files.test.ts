// --mosquitto-config-dir, in one process: the cloud writes Mosquitto's password and ACL files at
// start, rewrites them when refreshed after a join or a node deletion, runs the reload command once
// per change (not per refresh), and keeps an existing file's mode.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startMosquittoFiles, writeFileIfChanged } from "../../src/cloud/mosquitto-files.ts";
import { deleteNode, joinNode } from "../../src/cloud/node-registry.ts";
import { mosquittoHasher } from "../../src/protocol/mosquitto-password.ts";
import { createLogger } from "../../src/runtime/log.ts";
import { openStore } from "../../src/store/store.ts";
import { makeTempDir, waitUntil } from "../harness/cluster.ts";

const store = openStore({ dataDir: makeTempDir(), mode: "cloud" });
afterAll(() => store.close());
const logs: string[] = [];
const log = createLogger({ level: "debug", format: "text", write: (l) => logs.push(l) });

function joinTestNode(name: string): void {
  const request = { name, labels: {}, addresses: [], agentVersion: "", arch: "" };
  expect(joinNode(store, mosquittoHasher, request, () => {}).kind).toBe("joined");
}

describe("mosquitto files kept by the cloud", () => {
  test("written at start, rewritten after a join and a deletion, one reload each", async () => {
    const dir = join(makeTempDir(), "conf.d");
    const reloads = join(dir, "..", "reloads");
    writeFileSync(reloads, "");
    const files = startMosquittoFiles({
      store,
      log,
      dir,
      cloudPassword: "cloud-pw",
      reloadCommand: `echo reload >> ${reloads}`,
    });
    try {
      const passwd = join(dir, "levee.passwd");
      const acl = join(dir, "levee.acl");
      expect(readFileSync(passwd, "utf8")).toMatch(/^levee-cloud:\$7\$/);
      expect(readFileSync(acl, "utf8")).toContain("pattern write levee/v1/node/%u/up");
      expect(statSync(passwd).mode & 0o777).toBe(0o600);
      await waitUntil("first reload", () => readFileSync(reloads, "utf8") === "reload\n", 3000);

      joinTestNode("edge1");
      files.refresh(); // what the join route does
      expect(readFileSync(passwd, "utf8")).toContain("edge1:$7$");
      await waitUntil("second reload", () => readFileSync(reloads, "utf8").split("\n").length === 3, 3000);

      expect(deleteNode(store, "edge1")).toBe(true);
      files.refresh(); // what the node deletion route does
      await waitUntil("edge1 removed", () => !readFileSync(passwd, "utf8").includes("edge1:"), 3000);
      await waitUntil("third reload", () => readFileSync(reloads, "utf8").split("\n").length === 4, 3000);
      // nothing changed since: no more writes, no more reloads
      await Bun.sleep(100);
      expect(readFileSync(reloads, "utf8").split("\n")).toHaveLength(4);
    } finally {
      files.close();
    }
  });

  test("a rewrite keeps the mode an admin gave the file; an unchanged file is not touched", () => {
    const path = join(makeTempDir(), "levee.passwd");
    expect(writeFileIfChanged(path, "a\n", 0o600)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    chmodSync(path, 0o640);
    expect(writeFileIfChanged(path, "a\n", 0o600)).toBe(false);
    expect(writeFileIfChanged(path, "b\n", 0o600)).toBe(true);
    expect(readFileSync(path, "utf8")).toBe("b\n");
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });
});
