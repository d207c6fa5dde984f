// A manifest file as `levee ctl apply` and `levee ctl convert` read it (a path, or - for standard
// input; JSON or YAML by its name or first character), and the warnings both print about it.
import { readFileSync } from "node:fs";
import { UsageError } from "../../runtime/errors.ts";
import { describeFsError } from "../../runtime/fs-errors.ts";
import { oneLine, type RequestBody } from "./client.ts";
import { objectRef } from "./kinds.ts";
import type { ApplyWarning } from "./types.ts";

/** The file's text and its content type: JSON when it is named .json or starts like JSON, else YAML. */
export async function readManifest(filename: string): Promise<RequestBody> {
  let text: string;
  if (filename === "-") {
    text = await Bun.stdin.text();
  } else {
    try {
      text = readFileSync(filename, "utf8");
    } catch (err) {
      const why = describeFsError(err);
      throw new UsageError(`cannot read ${filename}: ${why}`);
    }
  }
  if (text.trim() === "") throw new UsageError(`${filename === "-" ? "standard input" : filename} is empty`);
  return { text, contentType: manifestContentType(filename, text) };
}

export function manifestContentType(filename: string, text: string): string {
  const json = /\.json$/i.test(filename) || (filename === "-" && /^\s*[[{]/.test(text));
  return json ? "application/json" : "application/yaml";
}

/** `warning: jointmultiedgeservice/controller: spec.cloudWorker...: message`, one line each. */
export function warningLines(warnings: readonly ApplyWarning[]): string {
  return warnings
    .map((w) => {
      const object = w.kind && w.name ? `${objectRef(w.kind, w.name)}: ` : "";
      return `warning: ${object}${w.path ? `${w.path}: ` : ""}${oneLine(w.message)}\n`;
    })
    .join("");
}
