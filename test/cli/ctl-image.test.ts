// `levee ctl image` without a server: the tarball's name, which Docker socket it reads, the table.
import { describe, expect, test } from "bun:test";
import { dockerSocket, imageRows, tarballName } from "../../src/cli/ctl/image.ts";

describe("ctl image", () => {
  test("a tarball name from a reference", () => {
    expect(tarballName("repo:5000/dayuhub/cam:v1")).toBe("repo_5000_dayuhub_cam_v1.tar");
    expect(tarballName("...")).toBe("image.tar");
  });

  test("the operator's Docker: DOCKER_HOST when unix://, else the default socket", () => {
    expect(dockerSocket({})).toBe("/var/run/docker.sock");
    expect(dockerSocket({ DOCKER_HOST: "unix:///run/user/1000/docker.sock" })).toBe(
      "/run/user/1000/docker.sock",
    );
    expect(() => dockerSocket({ DOCKER_HOST: "tcp://10.0.0.1:2375" })).toThrow(/only a unix:\/\/ socket/);
  });

  test("rows: reference, short ID, size, short artifact, age", () => {
    const now = Date.parse("2026-01-01T00:10:00Z");
    const rows = imageRows(
      [
        {
          reference: "cam:v1",
          id: `sha256:${"ab".repeat(32)}`,
          sha256: "cd".repeat(32),
          size: 200 * 1024 * 1024,
          createdAt: "2026-01-01T00:00:00Z",
        },
      ],
      now,
    );
    expect(rows).toEqual([["cam:v1", "abababababab", "200.0 MiB", "cdcdcdcdcdcd", "10m"]]);
  });
});
