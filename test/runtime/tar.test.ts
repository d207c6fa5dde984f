// The tar writer and reader: what one writes the other reads back, tar(1) reads it too, and a
// bad header or a size that lies is an error, not a hang or a short file.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { readTar, TarError, tarHeader, tarStream } from "../../src/runtime/tar.ts";
import { makeTempDir } from "../harness/cluster.ts";

const dir = makeTempDir("levee-tar-");

async function* bytes(text: string): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode(text);
}

test("round trip, and tar(1) lists the same entries", async () => {
  const file = join(dir, "a.tar");
  const entries = [
    { name: "one.txt", size: 5, chunks: () => bytes("hello") },
    { name: "dir/two", size: 600, chunks: () => bytes("x".repeat(600)) },
    { name: "empty", size: 0, chunks: () => bytes("") },
  ];
  await Bun.write(file, new Response(tarStream(entries)));
  const read: Record<string, string> = {};
  readTar(file, (entry, data) => {
    const parts: Uint8Array[] = [];
    data((c) => parts.push(c.slice()));
    read[entry.name] = Buffer.concat(parts).toString();
  });
  expect(read).toEqual({ "one.txt": "hello", "dir/two": "x".repeat(600), empty: "" });
  const listed = Bun.spawnSync(["tar", "tf", file]).stdout.toString().trim().split("\n");
  expect(listed).toEqual(["one.txt", "dir/two", "empty"]);
});

test("an entry that yields another size than it said fails the stream", async () => {
  const stream = tarStream([{ name: "liar", size: 10, chunks: () => bytes("short") }]);
  await expect(new Response(stream).arrayBuffer()).rejects.toThrow(/changed while it was archived/);
});

test("a header with a wrong checksum, and a name too long, are errors", () => {
  const header = tarHeader("f", 0);
  header[0] = 0x67; // "g": the checksum no longer matches
  const file = join(dir, "bad.tar");
  writeFileSync(file, Buffer.concat([header, new Uint8Array(1024)]));
  expect(() => readTar(file, () => {})).toThrow(TarError);
  expect(() => tarHeader("n".repeat(100), 0)).toThrow(/1\.\.99 bytes/);
});
