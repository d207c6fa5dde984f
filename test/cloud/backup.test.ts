// The cloud's backup archive end to end in-process: take it from a store with files beside it,
// save it, restore it into a new data dir (same bytes, the data kept, a new epoch); and the
// refusals: a non-empty data dir, a damaged or foreign file (exit 2 with one line, nothing left).
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BACKUP_HEADER } from "../../src/cloud/api/routes-backup.ts";
import { takeBackup } from "../../src/cloud/backup.ts";
import { MANIFEST_NAME, parseManifest } from "../../src/cloud/backup-format.ts";
import { cloudEpoch } from "../../src/cloud/link/sync-store.ts";
import { restoreBackup } from "../../src/cloud/restore.ts";
import { RefusalError } from "../../src/runtime/errors.ts";
import { readTar } from "../../src/runtime/tar.ts";
import { openStore } from "../../src/store/store.ts";
import { ADMIN_TOKEN, inProcessCloud, registeredNode } from "../harness/cloud-api.ts";
import { makeTempDir, runLevee } from "../harness/cluster.ts";

const root = makeTempDir("levee-backup-");
const source = join(root, "source");
const store = openStore({ dataDir: source, mode: "cloud" });
store.setMeta("probe", "kept");
const oldEpoch = cloudEpoch(store);
writeFileSync(join(source, "admin.token"), "admin-secret\n", { mode: 0o600 });
writeFileSync(join(source, "mesh-ca.key"), "KEY", { mode: 0o600 });
mkdirSync(join(source, "kube-api"), { mode: 0o700 });
writeFileSync(join(source, "kube-api", "ca.crt"), "CA", { mode: 0o600 });
const sha = createHash("sha256").update("model bytes").digest("hex");
mkdirSync(join(source, "artifacts"));
writeFileSync(join(source, "artifacts", sha), "model bytes");

afterAll(() => store.close());

async function save(artifacts: boolean, name: string): Promise<string> {
  const backup = await takeBackup(store, source, { artifacts });
  const file = join(root, name);
  await Bun.write(file, new Response(backup.stream));
  return file;
}

function expectRefusal(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(RefusalError);
  expect((caught as Error).message).toMatch(message);
}

describe("backup and restore", () => {
  test("round trip: the store's data, the files, a new epoch; no snapshot left behind", async () => {
    const file = await save(false, "plain.tar");
    expect(readdirSync(source).filter((n) => n.startsWith(".backup-snapshot-"))).toEqual([]);
    const target = join(root, "restored");
    const { manifest, epoch } = restoreBackup(file, target);
    expect(manifest.files.map((f) => f.name).sort()).toEqual(
      ["admin.token", "kube-api/ca.crt", "levee.db", "mesh-ca.key"].sort(),
    );
    expect(manifest.epoch).toBe(oldEpoch);
    expect(epoch).not.toBe(oldEpoch);
    expect(readFileSync(join(target, "admin.token"), "utf8")).toBe("admin-secret\n");
    expect(readFileSync(join(target, "kube-api", "ca.crt"), "utf8")).toBe("CA");
    expect(statSync(join(target, "mesh-ca.key")).mode & 0o777).toBe(0o600);
    expect(existsSync(join(target, "artifacts"))).toBe(false);
    const restored = openStore({ dataDir: target, mode: "cloud" });
    expect(restored.getMeta("probe")).toBe("kept");
    expect(cloudEpoch(restored)).toBe(epoch);
    restored.close();
  });

  test("two backups at once both complete; a snapshot left by a stopped cloud is removed", async () => {
    writeFileSync(join(source, ".backup-snapshot-stale.db"), "old");
    const [a, b] = await Promise.all([
      takeBackup(store, source, { artifacts: false }),
      takeBackup(store, source, { artifacts: false }),
    ]);
    const fa = join(root, "a.tar");
    const fb = join(root, "b.tar");
    await Bun.write(fa, new Response(a.stream));
    await Bun.write(fb, new Response(b.stream));
    restoreBackup(fa, join(root, "ra"));
    restoreBackup(fb, join(root, "rb"));
    expect(readdirSync(source).filter((n) => n.startsWith(".backup-snapshot-"))).toEqual([]);
  });

  test("the archive is a tar whose first entry is the manifest; artifacts only when asked", async () => {
    const file = await save(true, "with-artifacts.tar");
    const names: string[] = [];
    readTar(file, (entry) => names.push(entry.name));
    expect(names[0]).toBe(MANIFEST_NAME);
    expect(names).toContain(`artifacts/${sha}`);
    const target = join(root, "restored-artifacts");
    restoreBackup(file, target);
    expect(readFileSync(join(target, "artifacts", sha), "utf8")).toBe("model bytes");
  });

  test("a non-empty data dir is refused and left alone", async () => {
    const file = await save(false, "again.tar");
    const target = join(root, "busy");
    mkdirSync(target);
    writeFileSync(join(target, "something"), "x");
    expectRefusal(() => restoreBackup(file, target), /data dir is not empty/);
    expect(readdirSync(target)).toEqual(["something"]);
  });

  test("a damaged backup is refused and nothing is left in the data dir", async () => {
    const file = await save(false, "damaged.tar");
    const bytes = readFileSync(file);
    // Flip a byte inside levee.db's data (past the manifest entry): its sha256 no longer matches.
    let dbData = 0;
    let offset = 0;
    readTar(file, (entry) => {
      offset += 512;
      if (entry.name === "levee.db") dbData = offset;
      offset += Math.ceil(entry.size / 512) * 512;
    });
    bytes[dbData + 200] = (bytes[dbData + 200] ?? 0) ^ 0xff;
    writeFileSync(file, bytes);
    const target = join(root, "from-damaged");
    expectRefusal(() => restoreBackup(file, target), /levee\.db is damaged/);
    expect(existsSync(target)).toBe(false);
  });

  test("a file that is no backup, a truncated one, a missing one", async () => {
    const junk = join(root, "junk.tar");
    writeFileSync(junk, "not a tar at all".repeat(100));
    expectRefusal(() => restoreBackup(junk, join(root, "t1")), /not a valid backup/);
    const whole = readFileSync(await save(false, "whole.tar"));
    const cut = join(root, "cut.tar");
    writeFileSync(cut, whole.subarray(0, 3000));
    expectRefusal(() => restoreBackup(cut, join(root, "t2")), /not a valid backup \(truncated/);
    expectRefusal(() => restoreBackup(join(root, "nope.tar"), join(root, "t3")), /no such file/);
    for (const t of ["t1", "t2", "t3"]) expect(existsSync(join(root, t))).toBe(false);
  });

  test("levee cloud --restore with a corrupt file exits 2 with one line", async () => {
    const junk = join(root, "junk2.tar");
    writeFileSync(junk, "x".repeat(2048));
    const r = await runLevee(["cloud", "--restore", junk, "--data-dir", join(root, "cli-target")]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(`cannot restore ${junk}`);
  });
});

describe("GET /api/v1/backup", () => {
  test("only the admin; a tar with the manifest in a header; a bad artifacts flag is a 400", async () => {
    const backup = (options: { artifacts: boolean }) => takeBackup(store, source, options);
    const { app } = inProcessCloud({ store, replanOnJoin: false, deps: { backup } });
    const { username, password } = registeredNode(store, "edge1");
    const basic = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
    expect((await app.request("/api/v1/backup")).status).toBe(401);
    expect((await app.request("/api/v1/backup", { headers: { authorization: basic } })).status).toBe(401);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    expect((await app.request("/api/v1/backup?artifacts=yes", { headers: admin })).status).toBe(400);
    const res = await app.request("/api/v1/backup?artifacts=1", { headers: admin });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-tar");
    const header = res.headers.get(BACKUP_HEADER) ?? "";
    const manifest = parseManifest(Buffer.from(header, "base64").toString());
    expect(typeof manifest === "object" && manifest.artifacts).toBe(true);
    const file = join(root, "via-api.tar");
    await Bun.write(file, res);
    restoreBackup(file, join(root, "via-api"));
    expect(readFileSync(join(root, "via-api", "artifacts", sha), "utf8")).toBe("model bytes");
  });
});

describe("manifest", () => {
  test("foreign or incomplete manifests are named", () => {
    expect(parseManifest("{")).toBe(`${MANIFEST_NAME} is not JSON`);
    expect(parseManifest('{"format":"zip"}')).toMatch(/format/);
    const base = {
      format: "levee-backup",
      version: 1,
      createdAt: "t",
      levee: "0",
      epoch: "e",
      artifacts: false,
    };
    expect(parseManifest(JSON.stringify({ ...base, files: [] }))).toMatch(/lists no levee\.db/);
    const evil = { name: "../etc/passwd", size: 1, sha256: "0".repeat(64) };
    expect(parseManifest(JSON.stringify({ ...base, files: [evil] }))).toMatch(/not a file a backup holds/);
  });
});
