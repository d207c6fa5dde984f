// The exec session (docs/PROTOCOL.md, "Exec"): `levee ctl exec` runs a command in a worker's
// context with its stdin, stdout and stderr streamed and its exit code returned. Three parties: the
// ctl client opens a WebSocket to the cloud (admin token), the cloud asks the node over MQTT (an
// `exec` request on levee/v1/node/<node>/logs, the same topic as log requests), and the node opens
// its own WebSocket back to the cloud (its MQTT credentials), because the cloud cannot call a node
// (NAT, loopback-only agent API). The cloud then passes messages between the two sockets.
//
// On both sockets the messages are the same:
// - binary: one byte naming the stream (0 stdin, 1 stdout, 2 stderr), then its bytes (at most
//   MAX_DATA_BYTES);
// - text: a control message, JSON with the protocol version `v` (at most MAX_CONTROL_BYTES):
//   start (client → cloud: the command), stdin-end (client → node: stdin closed), resize (client
//   → node: the terminal's size), exit (node → client: the exit code), error (cloud or node →
//   client: why there is no session, with an HTTP-like status).
// Everything here is pure: encoding and validating, bounded before parsing.
import { z } from "zod";
import { parseJsonWithin } from "../runtime/bounded-json.ts";
import { isDnsSubdomain } from "../runtime/dns-name.ts";
import { PROTOCOL_VERSION } from "./messages.ts";

/** The largest data frame's payload (a writer splits bigger chunks). */
export const MAX_DATA_BYTES = 64 * 1024;
/** The largest control message (a start carries the command). */
export const MAX_CONTROL_BYTES = 64 * 1024;
/** The largest WebSocket message either side accepts: a data frame with its stream byte. */
export const MAX_SOCKET_MESSAGE_BYTES = MAX_DATA_BYTES + 1;
/** At most this many command words, each at most MAX_WORD_CHARS. */
export const MAX_COMMAND_WORDS = 1024;
const MAX_WORD_CHARS = 16 * 1024;

export type StreamName = "stdin" | "stdout" | "stderr";
const STREAM_BYTE: Record<StreamName, number> = { stdin: 0, stdout: 1, stderr: 2 };
const BYTE_STREAM: readonly StreamName[] = ["stdin", "stdout", "stderr"];

const size = z.number().int().min(1).max(10_000);
const command = z
  .array(z.string().max(MAX_WORD_CHARS))
  .min(1, "expected a command: at least one word")
  .max(MAX_COMMAND_WORDS)
  .refine((words) => (words[0] ?? "").length > 0, "the command's first word is empty");

/** What the session runs: the command, stdin or not, a TTY or not, the terminal's size for a TTY. */
export const execCommandSchema = z.object({
  command,
  /** The client sends stdin (-i); without it the command's stdin is empty. */
  stdin: z.boolean(),
  tty: z.boolean(),
  /** The terminal's size (a TTY only). */
  rows: size.optional(),
  cols: size.optional(),
});

export type ExecCommand = z.infer<typeof execCommandSchema>;

const v = z.literal(PROTOCOL_VERSION);

export const controlSchema = z.discriminatedUnion("type", [
  z.object({ v, type: z.literal("start"), ...execCommandSchema.shape }),
  z.object({ v, type: z.literal("stdin-end") }),
  z.object({ v, type: z.literal("resize"), rows: size, cols: size }),
  /** code: the command's exit code; null when a signal ended it (signal names it). */
  z.object({
    v,
    type: z.literal("exit"),
    code: z.number().int().min(0).max(255).nullable(),
    signal: z.string().max(32).nullable().optional(),
  }),
  z.object({
    v,
    type: z.literal("error"),
    status: z.number().int().min(400).max(599),
    error: z.string().max(4096),
  }),
]);

export type Control = z.infer<typeof controlSchema>;

/** A control message without its version (the encoder adds it). */
export type ControlBody = Control extends infer C ? (C extends Control ? Omit<C, "v"> : never) : never;

export type SessionMessage =
  | { kind: "data"; stream: StreamName; data: Uint8Array }
  | { kind: "control"; control: Control };

export type Decoded = { ok: true; message: SessionMessage } | { ok: false; reason: string };

export function encodeData(stream: StreamName, data: Uint8Array): Uint8Array {
  if (data.length > MAX_DATA_BYTES)
    throw new RangeError(`a data frame holds at most ${MAX_DATA_BYTES} bytes`);
  const frame = new Uint8Array(data.length + 1);
  frame[0] = STREAM_BYTE[stream];
  frame.set(data, 1);
  return frame;
}

/** `data` as frames of at most MAX_DATA_BYTES each (an empty chunk makes no frame). */
export function encodeChunks(stream: StreamName, data: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += MAX_DATA_BYTES)
    frames.push(encodeData(stream, data.subarray(at, at + MAX_DATA_BYTES)));
  return frames;
}

export function encodeControl(body: ControlBody): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, ...body });
}

/** Reads one WebSocket message (text: control, binary: data); never throws. */
export function decodeMessage(message: string | Uint8Array | ArrayBuffer): Decoded {
  if (typeof message !== "string") {
    const bytes = message instanceof Uint8Array ? message : new Uint8Array(message);
    if (bytes.length === 0) return { ok: false, reason: "an empty data frame" };
    if (bytes.length > MAX_SOCKET_MESSAGE_BYTES)
      return {
        ok: false,
        reason: `a data frame of ${bytes.length} bytes (at most ${MAX_SOCKET_MESSAGE_BYTES})`,
      };
    const stream = BYTE_STREAM[bytes[0] as number];
    if (!stream) return { ok: false, reason: `unknown stream ${bytes[0]}` };
    return { ok: true, message: { kind: "data", stream, data: bytes.subarray(1) } };
  }
  if (message.length > MAX_CONTROL_BYTES)
    return {
      ok: false,
      reason: `a control message of ${message.length} characters (at most ${MAX_CONTROL_BYTES})`,
    };
  const read = parseJsonWithin(message, "the control message");
  if (!read.ok) return { ok: false, reason: read.reason };
  const version = (read.value as { v?: unknown } | null)?.v;
  if (version !== PROTOCOL_VERSION)
    return { ok: false, reason: `unknown version v=${JSON.stringify(version)}` };
  const parsed = controlSchema.safeParse(read.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      reason: `bad control message: ${issue?.path.join(".") ?? ""} ${issue?.message ?? ""}`.trim(),
    };
  }
  return { ok: true, message: { kind: "control", control: parsed.data } };
}

/** What an event may say about a command: its first word's base name, never the arguments. */
export function commandName(words: readonly string[]): string {
  const first = words[0] ?? "";
  const base = first.split("/").filter(Boolean).pop() ?? first;
  return base.length > 64 ? `${base.slice(0, 64)}…` : base;
}

/** A service name as nodes know it (`svc` or `svc.namespace`). */
export function isServiceKey(name: string): boolean {
  return isDnsSubdomain(name);
}
