// Whether a log line goes straight to the systemd journal, and the syslog priority that journald
// reads from a `<N>` prefix. systemd sets JOURNAL_STREAM=<device>:<inode> for a service whose
// stdout/stderr is connected to journald (systemd.exec(5)); the stream matches only while that fd
// is still the same file (not redirected by a shell or a wrapper), so the check compares it with
// fstat of the fd the logger writes to. Everywhere else output stays exactly as it was.
import { fstatSync } from "node:fs";

/** syslog priorities (sd-daemon(3)): err 3, warning 4, info 6, debug 7. */
const PRIORITY = { error: 3, warn: 4, info: 6, debug: 7 } as const;

/** The `<N>` prefix journald turns into the entry's PRIORITY= field (levels as in log.ts). */
export function priorityPrefix(level: keyof typeof PRIORITY): string {
  return `<${PRIORITY[level]}>`;
}

/** JOURNAL_STREAM's device and inode, as decimal strings; undefined when absent or malformed. */
export function parseJournalStream(value: string | undefined): { dev: string; ino: string } | undefined {
  const m = value === undefined ? null : /^(\d+):(\d+)$/.exec(value.trim());
  if (!m) return undefined;
  return { dev: BigInt(m[1] as string).toString(), ino: BigInt(m[2] as string).toString() };
}

/** Whether a file with this device and inode is the journal stream that JOURNAL_STREAM names. */
export function matchesJournalStream(
  value: string | undefined,
  stat: { dev: bigint | number; ino: bigint | number },
): boolean {
  const stream = parseJournalStream(value);
  return stream !== undefined && stream.dev === String(stat.dev) && stream.ino === String(stat.ino);
}

/** Whether file descriptor `fd` (stderr by default) is connected to journald. */
export function fdIsJournal(fd = 2, env: NodeJS.ProcessEnv = process.env): boolean {
  if (parseJournalStream(env.JOURNAL_STREAM) === undefined) return false;
  try {
    return matchesJournalStream(env.JOURNAL_STREAM, fstatSync(fd, { bigint: true }));
  } catch {
    return false;
  }
}
