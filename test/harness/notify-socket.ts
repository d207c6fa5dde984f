// A stand-in for systemd's notification socket: a unix datagram socket the test owns, bound by a
// small python3 process (Bun cannot bind one), which prints each datagram it receives as a JSON
// line (closing any file descriptors passed, as systemd does for a barrier). Used to check what levee tells systemd (READY=1, STATUS=, WATCHDOG=1, STOPPING=1).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { waitUntil } from "./process.ts";

export const PYTHON3 =
  ["/usr/bin/python3", Bun.which("python3")].find((p) => p && existsSync(p)) ?? undefined;

const RECEIVER = `
import array, json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
address = sys.argv[1]
s.bind("\\0" + address[1:] if address.startswith("@") else address)
print(json.dumps({"bound": True}), flush=True)
while True:
    data, ancillary, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(64 * 4))
    # systemd-notify's BARRIER=1 passes a pipe and waits for it to be closed: close what came.
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
            for fd in fds:
                os.close(fd)
    print(json.dumps({"text": data.decode("utf-8", "replace")}), flush=True)
`;

export interface NotifyMessage {
  /** performance.now() in the test process when it arrived. */
  at: number;
  text: string;
}

export interface NotifySocket {
  /** What NOTIFY_SOCKET is set to: the path, or "@name" for an abstract socket. */
  address: string;
  messages: NotifyMessage[];
  /** The messages that set this field (e.g. "READY"). */
  withField(field: string): NotifyMessage[];
  close(): void;
}

/** Binds a datagram socket at `dir`/notify (or an abstract name when `abstract`). */
export async function bindNotifySocket(dir: string, abstract = false): Promise<NotifySocket> {
  if (!PYTHON3) throw new Error("python3 is needed to bind a unix datagram socket");
  const address = abstract
    ? `@levee-test-${process.pid}-${Math.random().toString(36).slice(2)}`
    : join(dir, "notify");
  const proc = Bun.spawn([PYTHON3, "-c", RECEIVER, address], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
  });
  const messages: NotifyMessage[] = [];
  let bound = false;
  void (async () => {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of proc.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const entry = JSON.parse(buffered.slice(0, nl)) as { bound?: boolean; text?: string };
        buffered = buffered.slice(nl + 1);
        if (entry.bound) bound = true;
        else messages.push({ at: performance.now(), text: entry.text ?? "" });
      }
    }
  })();
  await waitUntil("the notify socket to be bound", () => bound || proc.exitCode !== null, 5000);
  if (!bound) throw new Error(`python3 could not bind ${address}`);
  return {
    address,
    messages,
    withField: (field) =>
      messages.filter((m) => m.text.split("\n").some((line) => line.startsWith(`${field}=`))),
    close: () => proc.kill("SIGKILL"),
  };
}
