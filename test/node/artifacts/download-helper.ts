// One download() with short test timings, for the peer-fetch tests.
import type { ArtifactSource } from "../../../src/node/artifacts/artifact-source.ts";
import { download } from "../../../src/node/artifacts/download.ts";

export function downloadFrom(
  source: ArtifactSource,
  sha256: string,
  partial: string,
  expectedSize: number | undefined,
): Promise<number> {
  return download({
    sha256,
    expectedSize,
    partial,
    source,
    signal: new AbortController().signal,
    backoff: { baseMs: 1, capMs: 5 },
    maxCorrupt: 5,
    idleTimeoutMs: 5_000,
    onProgress: () => {},
  });
}
