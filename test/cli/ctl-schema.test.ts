// `levee ctl schema KIND` as a process: every kind that help lists has a schema, printed whole
// through a pipe (Dayu's are over 64 KiB, which an exit right after the write used to cut off).
import { expect, test } from "bun:test";
import { KINDS } from "../../src/cli/ctl/kinds.ts";
import { runLevee } from "../harness/cluster.ts";

test("every kind with a manifest, by any of its words, prints a complete JSON Schema", async () => {
  for (const info of KINDS.filter((k) => k.resource)) {
    const r = await runLevee(["ctl", "schema", info.short ?? info.plural]);
    expect({ kind: info.kind, code: r.code, stderr: r.stderr }).toEqual({
      kind: info.kind,
      code: 0,
      stderr: "",
    });
    const schema = JSON.parse(r.stdout) as { title: string };
    expect(schema.title).toEndWith(` ${info.kind}`);
  }
});
