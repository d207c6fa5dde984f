// Reading a `docker save` tarball while it streams past (image-tar.ts): manifest.json found
// whatever the chunking, its images parsed (legacy and OCI Config names), bad input named.
import { describe, expect, test } from "bun:test";
import { MAX_MANIFEST_BYTES, parseSaveManifest, TarManifestScanner } from "../../src/cloud/image-tar.ts";
import { savedImage, tarOf } from "../fixtures/docker-save-tar.ts";

function scan(bytes: Uint8Array, chunk: number) {
  const scanner = new TarManifestScanner();
  for (let at = 0; at < bytes.length; at += chunk) scanner.push(bytes.subarray(at, at + chunk));
  return scanner.result();
}

describe("tar scanner", () => {
  const layer = new Uint8Array(5000).map((_, i) => i % 256);
  const { id, tar } = savedImage(["repo:5000/dayuhub/cam:v1", "busybox"], layer);

  test("finds manifest.json in any chunking; the images and normalized references", () => {
    for (const chunk of [1, 7, 511, 512, 513, 4096, tar.length]) {
      const found = scan(tar, chunk);
      if ("error" in found) throw new Error(found.error);
      expect(parseSaveManifest(found.manifest)).toEqual([
        { id, references: ["repo:5000/dayuhub/cam:v1", "busybox:latest"] },
      ]);
    }
  });

  test("OCI layout Config names and untagged images", () => {
    const hex = "a".repeat(64);
    const manifest = new TextEncoder().encode(
      JSON.stringify([{ Config: `blobs/sha256/${hex}`, RepoTags: null }]),
    );
    expect(parseSaveManifest(manifest)).toEqual([{ id: `sha256:${hex}`, references: [] }]);
  });

  test("not a docker save tarball, not a tar, a huge manifest", () => {
    const other = tarOf([{ name: "hello.txt", bytes: new Uint8Array(10) }]);
    expect(scan(other, 100)).toEqual({ error: "not a `docker save` tarball: it has no manifest.json" });
    const garbage = new Uint8Array(2048).fill(0x41);
    expect(scan(garbage, 100)).toMatchObject({ error: expect.stringMatching(/not a tar archive/) });
    const huge = tarOf([{ name: "manifest.json", bytes: new Uint8Array(MAX_MANIFEST_BYTES + 1) }]);
    expect(scan(huge, 65536)).toMatchObject({ error: expect.stringMatching(/more than/) });
    expect(parseSaveManifest(new TextEncoder().encode("{"))).toEqual({ error: "manifest.json is not JSON" });
    expect(parseSaveManifest(new TextEncoder().encode('[{"Config": "x.json"}]'))).toMatchObject({
      error: expect.stringMatching(/names no image ID/),
    });
  });
});
