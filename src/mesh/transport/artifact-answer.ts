// The one line a node answers an `artifact` tunnel stream with (preamble.ts), before any byte of it:
//   LEVEE-ARTIFACT/1 ok size=<n>\n             the artifact has n bytes; those from the requested
//                                              offset follow, then the stream ends
//   LEVEE-ARTIFACT/1 not-found\n               no verified copy here (or this node serves none)
//   LEVEE-ARTIFACT/1 busy\n                    it serves as many peers as it will right now
//   LEVEE-ARTIFACT/1 unsatisfiable size=<n>\n  the offset is at or past the end (n bytes)
// The asking node reads it with a small bound (ANSWER_MAX_BYTES) and parses it strictly. Pure.

const ANSWER_VERSION = 1;
const MAGIC = `LEVEE-ARTIFACT/${ANSWER_VERSION}`;
export const ANSWER_MAX_BYTES = 96;

export type ArtifactAnswer =
  | { kind: "ok"; size: number }
  | { kind: "not-found" }
  | { kind: "busy" }
  | { kind: "unsatisfiable"; size: number };

export function formatAnswer(answer: ArtifactAnswer): string {
  switch (answer.kind) {
    case "ok":
    case "unsatisfiable":
      if (!Number.isSafeInteger(answer.size) || answer.size < 0)
        throw new Error(`not an artifact size: ${answer.size}`);
      return `${MAGIC} ${answer.kind} size=${answer.size}\n`;
    default:
      return `${MAGIC} ${answer.kind}\n`;
  }
}

const SIZE = /^size=(0|[1-9][0-9]{0,15})$/;

export type ParsedAnswer = { ok: true; answer: ArtifactAnswer } | { ok: false; reason: string };

export function parseAnswer(line: string): ParsedAnswer {
  const [magic, kind, size, ...extra] = line.split(" ");
  if (!magic?.startsWith("LEVEE-ARTIFACT/")) return { ok: false, reason: "not an artifact answer" };
  if (magic !== MAGIC) return { ok: false, reason: `unsupported artifact answer version ${magic.slice(15)}` };
  if (extra.length > 0) return { ok: false, reason: "malformed artifact answer" };
  if ((kind === "not-found" || kind === "busy") && size === undefined) return { ok: true, answer: { kind } };
  if (kind !== "ok" && kind !== "unsatisfiable") return { ok: false, reason: "malformed artifact answer" };
  const digits = size === undefined ? undefined : SIZE.exec(size)?.[1];
  const n = digits === undefined ? Number.NaN : Number(digits);
  if (!Number.isSafeInteger(n)) return { ok: false, reason: "malformed artifact size" };
  return { ok: true, answer: { kind, size: n } };
}
