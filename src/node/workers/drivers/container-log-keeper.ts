// Keeps a container worker's output when its container is removed (a restart, or the next start
// after it exited), for `levee ctl logs --previous`: Docker forgets a removed container's log. The
// log is copied with Docker's timestamps into the worker's previous.log (through a temporary file
// and a rename, so a reader sees the old copy or the new one, whole), and read back with exact
// `--since` and `--timestamps` (logs/timed-lines.ts). Bounded: at most MAX_KEPT_BYTES are kept
// (Docker's own log of a worker is bounded too, 30 MB with levee's default log options).
import { mkdirSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { DockerClient } from "./docker-client.ts";

export const MAX_KEPT_BYTES = 32 * 1024 * 1024;

/** Copies container `id`'s log, timed, to `file`; false when there was none to copy (best effort). */
export async function keepContainerLog(
  client: DockerClient,
  id: string,
  file: string,
  maxBytes = MAX_KEPT_BYTES,
): Promise<boolean> {
  const temp = `${file}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o750 });
    const out = await open(temp, "w", 0o640);
    let written = 0;
    try {
      for await (const chunk of client.logs(id, { timestamps: true })) {
        const room = maxBytes - written;
        if (room <= 0) break;
        const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
        await out.write(part);
        written += part.length;
      }
    } finally {
      await out.close();
    }
    await rename(temp, file);
    return true;
  } catch {
    await rm(temp, { force: true }).catch(() => {});
    return false;
  }
}
