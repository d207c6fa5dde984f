// A real dockerd for the container driver's tests, and a local image to run in it (no registry:
// the image is `docker import` of a busybox-static rootfs, tagged TEST_IMAGE).
//
// Which daemon: LEVEE_TEST_DOCKER_SOCKET if set; else one already answering on
// /var/run/docker.sock (CI starts one there, see .ci/run); else the harness's own, started once
// (as root) with its socket, data and log under /tmp/levee-test-docker and left running for the
// next test run, like a development service:
//   dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none
// Without root or dockerd the tests skip with a reason, unless CI is set: then they fail.
// The docker CLI is used here only (to import the image); levee itself speaks the API.
import { spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_DOCKER_SOCKET, DockerClient } from "../../src/node/workers/drivers/docker-client.ts";
import { LABEL } from "../../src/node/workers/drivers/docker-spec.ts";
import { waitUntil } from "./process.ts";

export const TEST_IMAGE = "levee-test/busybox:1";
/** Where the harness's own daemon lives when none is running. */
export const HARNESS_DOCKER_DIR = "/tmp/levee-test-docker";
const HARNESS_SOCKET = join(HARNESS_DOCKER_DIR, "docker.sock");
const BUSYBOX = "/bin/busybox";
const SBIN_PATH = `${process.env.PATH ?? ""}:/usr/sbin:/usr/local/sbin:/sbin`;

export interface TestDocker {
  socket: string;
  client: DockerClient;
  /** TEST_IMAGE, present in the daemon. */
  image: string;
  /** Runs the docker CLI against this daemon. */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

let ready: Promise<TestDocker> | undefined;

/**
 * Why the Docker tests cannot run here, or undefined when they can. Under CI a reason is an
 * error (thrown), never a skip.
 */
export async function dockerSkipReason(): Promise<string | undefined> {
  const reason = await findReason();
  if (reason && process.env.CI) throw new Error(`CI must run the Docker tests, but ${reason}`);
  return reason;
}

async function findReason(): Promise<string | undefined> {
  if (!isStaticBusybox()) return `${BUSYBOX} is missing or not static (apt-get install busybox-static)`;
  if (!Bun.which("docker", { PATH: SBIN_PATH }))
    return "the docker CLI is not installed (apt-get install docker.io)";
  if (await answering(configuredSocket())) return undefined;
  if (process.getuid?.() !== 0) return "no dockerd is running and only root can start one";
  if (!Bun.which("dockerd", { PATH: SBIN_PATH }))
    return "dockerd is not installed (apt-get install docker.io)";
  return undefined;
}

/** The daemon the tests use (started if needed) with TEST_IMAGE in it; once per process. */
export function ensureDocker(): Promise<TestDocker> {
  ready ??= prepare().catch((err) => {
    ready = undefined;
    throw err;
  });
  return ready;
}

function configuredSocket(): string {
  return process.env.LEVEE_TEST_DOCKER_SOCKET ?? DEFAULT_DOCKER_SOCKET;
}

async function answering(socket: string): Promise<boolean> {
  if (!existsSync(socket)) return false;
  return new DockerClient({ socket })
    .ping()
    .then(() => true)
    .catch(() => false);
}

async function prepare(): Promise<TestDocker> {
  const socket = await findOrStartDaemon();
  const client = new DockerClient({ socket });
  const cli = (args: string[]) => runDockerCli(socket, args);
  if (!(await client.inspectImage(TEST_IMAGE))) await importBusyboxImage(cli);
  return { socket, client, image: TEST_IMAGE, cli };
}

async function findOrStartDaemon(): Promise<string> {
  const configured = configuredSocket();
  if (await answering(configured)) return configured;
  if (process.env.LEVEE_TEST_DOCKER_SOCKET)
    throw new Error(`LEVEE_TEST_DOCKER_SOCKET=${configured}: no dockerd answers there`);
  if (await answering(HARNESS_SOCKET)) return HARNESS_SOCKET;
  const dockerd = Bun.which("dockerd", { PATH: SBIN_PATH });
  if (!dockerd) throw new Error("dockerd is not installed (apt-get install docker.io)");
  mkdirSync(HARNESS_DOCKER_DIR, { recursive: true });
  const logFile = join(HARNESS_DOCKER_DIR, "dockerd.log");
  const log = openSync(logFile, "a");
  // Detached: it outlives this test run (the next one reuses it). A second test process that
  // starts one at the same time loses on dockerd's pidfile lock and uses the winner's.
  const child = spawn(
    dockerd,
    [
      "--storage-driver=vfs",
      "--iptables=false",
      "--ip6tables=false",
      "--bridge=none",
      `--data-root=${join(HARNESS_DOCKER_DIR, "root")}`,
      `--exec-root=${join(HARNESS_DOCKER_DIR, "exec")}`,
      `--pidfile=${join(HARNESS_DOCKER_DIR, "dockerd.pid")}`,
      `--host=unix://${HARNESS_SOCKET}`,
    ],
    { detached: true, stdio: ["ignore", log, log] },
  );
  child.unref();
  closeSync(log);
  await waitUntil(`dockerd on ${HARNESS_SOCKET}`, () => answering(HARNESS_SOCKET), 60_000).catch((err) => {
    const tail = readFileSync(logFile, "utf8").split("\n").slice(-30).join("\n");
    throw new Error(`${(err as Error).message}\n----- ${logFile} -----\n${tail}`);
  });
  return HARNESS_SOCKET;
}

async function runDockerCli(socket: string, args: string[]) {
  const docker = Bun.which("docker", { PATH: SBIN_PATH });
  if (!docker) throw new Error("the docker CLI is not installed (apt-get install docker.io)");
  const proc = Bun.spawn([docker, ...args], {
    env: { ...process.env, DOCKER_HOST: `unix://${socket}` },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  return { code, stdout, stderr };
}

/**
 * A rootfs of busybox-static with every applet as a symlink, /etc/passwd with root, nobody and
 * a user "worker" (1000), and /tmp; imported as TEST_IMAGE.
 */
async function importBusyboxImage(cli: TestDocker["cli"]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "levee-busybox-"));
  try {
    await buildAndImport(dir, cli);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function buildAndImport(dir: string, cli: TestDocker["cli"]): Promise<void> {
  const root = join(dir, "rootfs");
  for (const sub of ["bin", "etc", "tmp", "www", "proc", "sys", "dev"])
    mkdirSync(join(root, sub), { recursive: true });
  writeFileSync(join(root, "bin/busybox"), readFileSync(BUSYBOX), { mode: 0o755 });
  const list = Bun.spawnSync([BUSYBOX, "--list"]).stdout.toString().split("\n");
  for (const applet of list)
    if (/^[\w.[-]+$/.test(applet) && applet !== "busybox") symlinkSync("busybox", join(root, "bin", applet));
  writeFileSync(
    join(root, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\nworker:x:1000:1000:worker:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
  );
  writeFileSync(join(root, "etc/group"), "root:x:0:\nworker:x:1000:\nnogroup:x:65534:\n");
  chmodSync(join(root, "tmp"), 0o1777);
  const tar = join(dir, "rootfs.tar");
  const packed = Bun.spawnSync(["tar", "-C", root, "--owner=0", "--group=0", "-cf", tar, "."]);
  if (packed.exitCode !== 0) throw new Error(`tar of the busybox rootfs failed: ${packed.stderr.toString()}`);
  const result = await cli(["import", tar, TEST_IMAGE]);
  if (result.code !== 0) throw new Error(`docker import ${TEST_IMAGE} failed: ${result.stderr.trim()}`);
}

/** Whether BUSYBOX exists and is statically linked (an ELF without a PT_INTERP program header). */
function isStaticBusybox(): boolean {
  let elf: Buffer;
  try {
    elf = readFileSync(BUSYBOX);
  } catch {
    return false;
  }
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false; // 64-bit ELF
  const little = elf[5] === 1;
  const u16 = (at: number) => (little ? elf.readUInt16LE(at) : elf.readUInt16BE(at));
  const u32 = (at: number) => (little ? elf.readUInt32LE(at) : elf.readUInt32BE(at));
  const phoff = Number(little ? elf.readBigUInt64LE(32) : elf.readBigUInt64BE(32));
  const size = u16(54);
  const count = u16(56);
  for (let i = 0; i < count; i++) if (u32(phoff + i * size) === 3) return false; // PT_INTERP
  return true;
}

/**
 * Removes (force) every levee container whose levee.agent label passes `match`: the containers
 * tests left behind (e.g. the agents' temp data dirs).
 */
export async function removeLeveeContainers(client: DockerClient, match: (agentId: string) => boolean) {
  const containers = await client.listContainers({ labels: { [LABEL.agent]: undefined }, all: true });
  for (const container of containers) {
    const agent = container.Labels?.[LABEL.agent];
    if (agent !== undefined && match(agent)) await client.removeContainer(container.Id, { force: true });
  }
}
