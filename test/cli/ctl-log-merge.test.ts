// Every worker of a service at once: lines prefixed [node/index], whole lines only (two workers'
// lines never mix however their chunks are cut), a last line without a newline completed, a
// broken source reported while the others go on, and the reading stopped when the output goes.
import { describe, expect, test } from "bun:test";
import { LinePrefixer, mergeLogStreams, workerPrefix } from "../../src/cli/ctl/log-merge.ts";

const bytes = (s: string) => Buffer.from(s, "utf8");

async function* chunks(parts: string[], gapMs = 1, fail?: string): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    await Bun.sleep(gapMs);
    yield bytes(part);
  }
  if (fail) throw new Error(fail);
}

function collector() {
  const writes: string[] = [];
  const write = async (b: Uint8Array) => {
    writes.push(Buffer.from(b).toString("utf8"));
    return true;
  };
  return { writes, write };
}

describe("LinePrefixer", () => {
  test("whole lines only, prefixed; the rest waits; flush completes the last line", () => {
    const p = new LinePrefixer("[a/0] ");
    expect(p.push(bytes("par"))).toBeUndefined();
    expect(Buffer.from(p.push(bytes("tial\nnext\nhal")) ?? []).toString()).toBe(
      "[a/0] partial\n[a/0] next\n",
    );
    expect(Buffer.from(p.flush() ?? []).toString()).toBe("[a/0] hal\n");
    expect(p.flush()).toBeUndefined();
  });

  test("the prefix names node and index", () => {
    expect(workerPrefix("edge1", 2)).toBe("[edge1/2] ");
  });
});

describe("mergeLogStreams", () => {
  test("the lines of all sources, interleaved but never mixed", async () => {
    const out = collector();
    const result = await mergeLogStreams(
      [
        { prefix: "[a/0] ", body: chunks(["a1\na", "2\n", "a3"], 2) },
        { prefix: "[b/1] ", body: chunks(["b1\nb2", "\nb3\n"], 3) },
      ],
      out.write,
    );
    expect(result).toEqual({ written: true, failures: [] });
    const lines = out.writes.join("").split("\n").filter(Boolean);
    expect(lines.filter((l) => l.startsWith("[a/0] "))).toEqual(["[a/0] a1", "[a/0] a2", "[a/0] a3"]);
    expect(lines.filter((l) => l.startsWith("[b/1] "))).toEqual(["[b/1] b1", "[b/1] b2", "[b/1] b3"]);
    expect(lines).toHaveLength(6);
  });

  test("a source that breaks is reported; the others are read to their end", async () => {
    const out = collector();
    const result = await mergeLogStreams(
      [
        { prefix: "[a/0] ", body: chunks(["a1\n"], 1, "node a disconnected") },
        { prefix: "[b/0] ", body: chunks(["b1\n", "b2\n"], 5) },
      ],
      out.write,
    );
    expect(result.failures).toEqual(["[a/0] node a disconnected"]);
    expect(out.writes.join("")).toContain("[b/0] b2\n");
    expect(out.writes.join("")).toContain("[a/0] a1\n");
  });

  test("when the output refuses a write, reading stops", async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) {
        pulled++;
        await Bun.sleep(1);
        yield bytes("x\n");
      }
    }
    let writes = 0;
    const result = await mergeLogStreams([{ prefix: "", body: endless() }], async () => ++writes < 3);
    expect(result.written).toBe(false);
    expect(writes).toBe(3);
    expect(pulled).toBeLessThan(6);
  });
});
