// Sends sd_notify(3) datagrams to the socket NOTIFY_SOCKET names. Bun's JavaScript API has no
// unix datagram sockets (node:dgram is UDP only, Bun.connect/node:net are stream sockets), so:
//
// 1. libc through bun:ffi: socket(AF_UNIX, SOCK_DGRAM) and sendto(), exactly what sd_notify does,
//    from the agent's own PID (so the units keep NotifyAccess=main: workers, which share the
//    unit's cgroup, cannot send READY/WATCHDOG in the agent's name). No other process, no
//    dependency, microseconds per message; the watchdog ping is as alive as the event loop.
//    The binary is built for glibc and musl (build/build.ts): the libc loaded is the one the
//    process runs on (glibc "libc.so.6"; musl "libc.musl-<arch>.so.1"), never a foreign one.
// 2. When that cannot be loaded (no FFI on the platform, an unusual libc), `systemd-notify
//    --pid=<agent pid> KEY=value...`, which every systemd host has. Running as root (the units do)
//    it sends with the agent's PID in its credentials, so NotifyAccess=main still accepts it;
//    a unit with User= would need NotifyAccess=all for this path.
//
// A send never throws: it resolves to an error text (socket missing, refused, queue full), which
// the caller logs; the agent runs on either way.

import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { arch } from "node:os";
import { type NotifyTarget, sockaddrUn } from "./sd-notify-protocol.ts";

export interface NotifyTransport {
  /** "libc" or "systemd-notify": how messages go (for the start-up log line). */
  readonly via: string;
  /** Sends one message; resolves to undefined when sent, or to what went wrong. */
  send(message: string): Promise<string | undefined>;
  close(): void;
}

// Linux values, the same on x86_64 and arm64 (the architectures levee is built for).
const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const ERRNO: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  11: "EAGAIN",
  13: "EACCES",
  90: "EMSGSIZE",
  91: "EPROTOTYPE",
  111: "ECONNREFUSED",
};

const SYMBOLS = {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  sendto: {
    args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32],
    returns: FFIType.i64,
  },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
} as const;

/** Whether this process runs on musl (Node's process report names glibc's version otherwise). */
function isMusl(): boolean {
  try {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)
      ?.header;
    return header !== undefined && header.glibcVersionRuntime === undefined;
  } catch {
    return false;
  }
}

/** The C library of this process, by the names its dynamic loader knows it by. */
export function libcNames(musl: boolean, cpu: string = arch()): string[] {
  if (!musl) return ["libc.so.6"];
  const muslArch = cpu === "arm64" ? "aarch64" : cpu === "x64" ? "x86_64" : cpu;
  return [`libc.musl-${muslArch}.so.1`, "libc.so"];
}

/** The libc transport, or why it is not available. */
export function libcTransport(target: NotifyTarget, names = libcNames(isMusl())): NotifyTransport | string {
  let lib: ReturnType<typeof dlopen<typeof SYMBOLS>> | undefined;
  const failures: string[] = [];
  for (const name of names) {
    try {
      lib = dlopen(name, SYMBOLS);
      break;
    } catch (err) {
      failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (!lib) return `cannot load the C library (${failures.join("; ")})`;
  const c = lib.symbols;
  const address = sockaddrUn(target);
  const errno = () => {
    const at = c.__errno_location();
    const code = at === null ? 0 : read.i32(at, 0);
    return ERRNO[code] ?? `errno ${code}`;
  };
  let fd = -1;
  return {
    via: "libc",
    async send(message) {
      if (fd < 0) {
        fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return `socket(AF_UNIX, SOCK_DGRAM): ${errno()}`;
      }
      const data = Buffer.from(message);
      const sent = c.sendto(
        fd,
        ptr(data),
        data.length,
        MSG_DONTWAIT | MSG_NOSIGNAL,
        ptr(address.bytes),
        address.length,
      );
      if (Number(sent) === data.length) return undefined;
      const error = Number(sent) < 0 ? errno() : `sent ${sent} of ${data.length} bytes`;
      // A fresh socket next time (the listener may have been recreated).
      c.close(fd);
      fd = -1;
      return `sendto ${describeTarget(target)}: ${error}`;
    },
    close() {
      if (fd >= 0) c.close(fd);
      fd = -1;
      lib?.close();
    },
  };
}

/** The fallback: one `systemd-notify` process per message. */
export function commandTransport(socket: string, command = "systemd-notify"): NotifyTransport {
  return {
    via: command,
    async send(message) {
      try {
        const proc = Bun.spawn([command, `--pid=${process.pid}`, ...message.split("\n")], {
          env: { NOTIFY_SOCKET: socket, PATH: process.env.PATH ?? "/usr/bin:/bin" },
          stdin: "ignore",
          stdout: "ignore",
          stderr: "pipe",
        });
        const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
        const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
        clearTimeout(timer);
        return code === 0 ? undefined : `${command} exited with ${code}: ${stderr.trim().slice(0, 200)}`;
      } catch (err) {
        return `cannot run ${command}: ${err instanceof Error ? err.message : String(err)}`;
      }
    },
    close() {},
  };
}

/** libc when it loads, else systemd-notify; `fallback` says why libc was not used. */
export function openNotifyTransport(
  target: NotifyTarget,
  socket: string,
): { transport: NotifyTransport; fallback?: string } {
  const libc = libcTransport(target);
  if (typeof libc !== "string") return { transport: libc };
  return { transport: commandTransport(socket), fallback: libc };
}

function describeTarget(target: NotifyTarget): string {
  return target.kind === "abstract" ? `@${target.name}` : target.name;
}
