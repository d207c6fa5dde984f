// The sd_notify(3) protocol without I/O: where NOTIFY_SOCKET points (a socket path, or an abstract
// name written "@name"), the sockaddr_un bytes for it, the newline-separated KEY=value datagram,
// and the watchdog keep-alive interval from WATCHDOG_USEC/WATCHDOG_PID (half the timeout, as
// sd_watchdog_enabled(3) advises). sd-notify-transport.ts sends; sd-notify.ts decides what, when.

/** Where the service manager listens, as NOTIFY_SOCKET names it. */
export interface NotifyTarget {
  kind: "path" | "abstract";
  /** The path, or the abstract name without its "@". */
  name: string;
}

/** sun_path is 108 bytes: a path needs its terminating NUL, an abstract name its leading NUL. */
const SUN_PATH_MAX = 108;
const AF_UNIX = 1;

/** NOTIFY_SOCKET parsed; a string saying what is wrong with it otherwise. */
export function parseNotifySocket(value: string): NotifyTarget | string {
  if (value.startsWith("@")) {
    const name = value.slice(1);
    if (name === "") return "NOTIFY_SOCKET: an abstract socket name after @ is required";
    if (Buffer.byteLength(name) + 1 > SUN_PATH_MAX) return "NOTIFY_SOCKET: the abstract name is too long";
    return { kind: "abstract", name };
  }
  if (value.startsWith("/")) {
    if (value.includes("\0")) return "NOTIFY_SOCKET: the path contains a NUL byte";
    if (Buffer.byteLength(value) + 1 > SUN_PATH_MAX) return "NOTIFY_SOCKET: the path is too long";
    return { kind: "path", name: value };
  }
  return `NOTIFY_SOCKET: expected an absolute socket path or @name, got ${JSON.stringify(value.slice(0, 64))}`;
}

/** struct sockaddr_un for the target, and the length to pass to sendto(2) (Linux layout). */
export function sockaddrUn(target: NotifyTarget): { bytes: Uint8Array; length: number } {
  const bytes = new Uint8Array(2 + SUN_PATH_MAX);
  new DataView(bytes.buffer).setUint16(0, AF_UNIX, true);
  const name = new TextEncoder().encode(target.name);
  // Abstract: sun_path[0] is NUL and the name is not NUL-terminated; its length is the address's.
  const at = target.kind === "abstract" ? 3 : 2;
  bytes.set(name, at);
  return { bytes, length: at + name.length + (target.kind === "path" ? 1 : 0) };
}

/** Longest STATUS= text sent: systemctl shows one line, and a datagram must stay small. */
export const STATUS_MAX = 200;

/** One-line status text: control characters become spaces, bounded to STATUS_MAX characters. */
export function statusText(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return line.length > STATUS_MAX ? `${line.slice(0, STATUS_MAX - 1)}…` : line;
}

/** The datagram: one KEY=value per line, in the order given. */
export function notifyMessage(fields: Readonly<Record<string, string>>): string {
  return Object.entries(fields)
    .map(([key, value]) => `${key}=${key === "STATUS" ? statusText(value) : value.replace(/\n/g, " ")}`)
    .join("\n");
}

/**
 * How often to send WATCHDOG=1, in ms: half of WATCHDOG_USEC. Undefined when the watchdog is off
 * for this process: WATCHDOG_USEC unset or not a positive integer, or WATCHDOG_PID naming another
 * process (the variables were inherited from a parent that systemd watches).
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = env.WATCHDOG_USEC?.trim();
  if (!usec || !/^\d+$/.test(usec)) return undefined;
  const value = Number(usec);
  if (!Number.isSafeInteger(value) || value <= 0) return undefined;
  const watchdogPid = env.WATCHDOG_PID?.trim();
  if (watchdogPid && watchdogPid !== String(pid)) return undefined;
  return Math.max(1, Math.floor(value / 2000));
}
