// Image references in Docker's familiar form (image-ref.ts): what a template's `image:` is
// compared by, and where a reference's tag starts.
import { describe, expect, test } from "bun:test";
import { normalizeImageReference, splitRepoTag } from "../../src/manifest/image-ref.ts";

describe("image references", () => {
  test("normalized as Docker shows them", () => {
    expect(normalizeImageReference("busybox")).toBe("busybox:latest");
    expect(normalizeImageReference("docker.io/library/busybox:1.36")).toBe("busybox:1.36");
    expect(normalizeImageReference("docker.io/dayuhub/cam")).toBe("dayuhub/cam:latest");
    expect(normalizeImageReference("library/busybox:1")).toBe("busybox:1");
    expect(normalizeImageReference("repo:5000/dayuhub/cam")).toBe("repo:5000/dayuhub/cam:latest");
    expect(normalizeImageReference("repo:5000/dayuhub/cam:v1")).toBe("repo:5000/dayuhub/cam:v1");
    const id = `sha256:${"c".repeat(64)}`;
    expect(normalizeImageReference(id)).toBe(id);
    expect(normalizeImageReference("c".repeat(64))).toBe(id);
    expect(normalizeImageReference(`x/y@sha256:${"d".repeat(64)}`)).toBe(`x/y@sha256:${"d".repeat(64)}`);
  });

  test("a registry's port is not a tag", () => {
    expect(splitRepoTag("repo:5000/dayuhub/cam:v1")).toEqual({ repo: "repo:5000/dayuhub/cam", tag: "v1" });
    expect(splitRepoTag("repo:5000/dayuhub/cam")).toEqual({ repo: "repo:5000/dayuhub/cam", tag: undefined });
    expect(splitRepoTag("busybox:1")).toEqual({ repo: "busybox", tag: "1" });
  });
});
