// The datagrams reach a real unix socket (a path and an abstract name) through libc, and through
// the systemd-notify fallback; a missing socket is an error text, not an exception.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseNotifySocket } from "../../src/runtime/sd-notify-protocol.ts";
import { commandTransport, libcNames, libcTransport } from "../../src/runtime/sd-notify-transport.ts";
import { makeTempDir } from "../harness/cluster.ts";
import { bindNotifySocket, type NotifySocket, PYTHON3 } from "../harness/notify-socket.ts";
import { waitUntil } from "../harness/process.ts";

const sockets: NotifySocket[] = [];
afterAll(() => {
  for (const s of sockets) s.close();
});

function target(address: string) {
  const parsed = parseNotifySocket(address);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
}

test("libc names: glibc's soname, or musl's by architecture", () => {
  expect(libcNames(false)).toEqual(["libc.so.6"]);
  expect(libcNames(true, "x64")).toEqual(["libc.musl-x86_64.so.1", "libc.so"]);
  expect(libcNames(true, "arm64")).toEqual(["libc.musl-aarch64.so.1", "libc.so"]);
});

test("a libc that cannot be loaded is a reason, not an exception", () => {
  expect(libcTransport(target("/run/x"), ["libdoes-not-exist.so.9"])).toContain("cannot load the C library");
});

describe.skipIf(!PYTHON3)("to a real datagram socket", () => {
  for (const abstract of [false, true]) {
    test(`libc: ${abstract ? "abstract name" : "socket path"}`, async () => {
      const socket = await bindNotifySocket(makeTempDir("levee-notify-"), abstract);
      sockets.push(socket);
      const transport = libcTransport(target(socket.address));
      if (typeof transport === "string") throw new Error(transport);
      expect(await transport.send("READY=1\nSTATUS=Ready: 1 worker, plan 3")).toBeUndefined();
      expect(await transport.send("WATCHDOG=1")).toBeUndefined();
      await waitUntil("two datagrams", () => socket.messages.length === 2, 5000);
      expect(socket.messages.map((m) => m.text)).toEqual([
        "READY=1\nSTATUS=Ready: 1 worker, plan 3",
        "WATCHDOG=1",
      ]);
      transport.close();
    });
  }

  test("libc: a socket nobody listens on is reported", async () => {
    const transport = libcTransport(target(join(makeTempDir("levee-notify-"), "gone")));
    if (typeof transport === "string") throw new Error(transport);
    expect(await transport.send("READY=1")).toMatch(/ENOENT/);
    transport.close();
  });

  test.skipIf(!Bun.which("systemd-notify"))("systemd-notify fallback", async () => {
    const socket = await bindNotifySocket(makeTempDir("levee-notify-"));
    sockets.push(socket);
    const error = await commandTransport(socket.address).send("STATUS=Ready: 2 workers, plan 7\nWATCHDOG=1");
    expect(error).toBeUndefined();
    await waitUntil("the status", () => socket.withField("STATUS").length === 1, 5000);
    const lines = socket.withField("STATUS")[0]?.text.split("\n") ?? [];
    expect(lines).toContain("STATUS=Ready: 2 workers, plan 7");
    expect(lines).toContain("WATCHDOG=1");
  });

  test("a missing fallback command is reported", async () => {
    expect(await commandTransport("/run/x", "/nonexistent/systemd-notify").send("READY=1")).toContain(
      "cannot run",
    );
  });
});
