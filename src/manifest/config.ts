// The Config kind: named files for workers (like a Kubernetes ConfigMap or Secret), mounted with a
// `config:` mount. `data` holds UTF-8 text files, `binaryData` base64 of any bytes; a file name is
// in at most one of them, and all files together are at most 1 MiB (big files are artifacts). A
// node's plan carries each file's sha256 and size (configFileRefs), not the bytes.
import { createHash } from "node:crypto";
import { z } from "zod";
import { fileName } from "./fields.ts";
import { describeValue } from "./issues.ts";
import { resourceSchema } from "./meta.ts";
import type { ConfigFileRefs } from "./plan.ts";

export const CONFIG_SIZE_LIMIT = 1024 * 1024;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A text file's content: a string of valid UTF-8 (also a Secret's stringData). */
export const text = z
  .string({
    error: (iss) =>
      `expected the file's text as a string, got ${describeValue(iss.input)}; quote it, or use binaryData for bytes`,
  })
  .refine((s) => !LONE_SURROGATE.test(s), "is not valid UTF-8 text (a lone surrogate): use binaryData");

/** A binary file's content as base64 (also a Secret's data). */
export const base64 = z
  .string()
  .regex(
    BASE64,
    'expected base64 (A-Z a-z 0-9 + /, "=" padding, no line breaks), e.g. the output of `base64 -w0 FILE`',
  );

export const configSchema = resourceSchema("Config", {
  data: z.record(fileName, text).default({}).meta({ description: "file name → UTF-8 text" }),
  binaryData: z.record(fileName, base64).default({}).meta({ description: "file name → base64 of the bytes" }),
}).superRefine((config, ctx) =>
  checkFiles(config, ctx, {
    text: "data",
    binary: "binaryData",
    entry: "file",
    tooLarge: (size) =>
      `the files add up to ${mebibytes(size)}; a Config holds at most 1 MiB ` +
      "(use an artifact for large files: `levee ctl artifact push FILE`)",
  }),
);

/** Where a Config's (or a Secret's) text and binary entries are, and what to call them. */
export interface FileFields<T extends string, B extends string> {
  text: T;
  binary: B;
  /** "file" or "key". */
  entry: string;
  tooLarge: (size: number) => string;
}

/** A name in both fields, or more than 1 MiB in all, is an issue (the second field's, or the larger's). */
export function checkFiles<T extends string, B extends string>(
  object: Record<T | B, Record<string, string>>,
  ctx: z.core.$RefinementCtx,
  fields: FileFields<T, B>,
): void {
  const texts = object[fields.text];
  const binaries = object[fields.binary];
  for (const name of Object.keys(binaries)) {
    if (Object.hasOwn(texts, name)) {
      ctx.addIssue({
        code: "custom",
        message: `${fields.entry} ${JSON.stringify(name)} is in both ${fields.text} and ${fields.binary}: keep one`,
        path: [fields.binary, name],
      });
    }
  }
  const size = configSize({ data: texts, binaryData: binaries });
  if (size > CONFIG_SIZE_LIMIT) {
    const binary = Object.keys(binaries).length > 0;
    const textual = Object.keys(texts).length > 0;
    ctx.addIssue({
      code: "custom",
      message: fields.tooLarge(size),
      path: binary && textual ? [] : binary ? [fields.binary] : [fields.text],
    });
  }
}

export type ConfigResource = z.output<typeof configSchema>;

/** Bytes of all files: UTF-8 length of the text files plus decoded length of the binary ones. */
export function configSize(config: Pick<ConfigResource, "data" | "binaryData">): number {
  let size = 0;
  for (const value of Object.values(config.data)) size += Buffer.byteLength(value, "utf8");
  for (const value of Object.values(config.binaryData)) size += base64Length(value);
  return size;
}

function base64Length(value: string): number {
  const padding = value.endsWith("==") ? 2 : value.endsWith("=") ? 1 : 0;
  return (value.length / 4) * 3 - padding;
}

export function mebibytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(2)} MiB (${bytes} bytes)`;
}

/** The bytes of one file of a validated Config, or undefined when it has no such file. */
export function configFile(
  config: Pick<ConfigResource, "data" | "binaryData">,
  name: string,
): Uint8Array | undefined {
  if (Object.hasOwn(config.data, name)) return Buffer.from(config.data[name] ?? "", "utf8");
  if (Object.hasOwn(config.binaryData, name)) return Buffer.from(config.binaryData[name] ?? "", "base64");
  return undefined;
}

/** Every file of a Config as the plan references it: name → sha256 and size of its bytes. */
export function configFileRefs(config: Partial<Pick<ConfigResource, "data" | "binaryData">>): ConfigFileRefs {
  const whole = { data: config.data ?? {}, binaryData: config.binaryData ?? {} };
  const refs: ConfigFileRefs = {};
  for (const name of [...Object.keys(whole.data), ...Object.keys(whole.binaryData)]) {
    const bytes = configFile(whole, name) ?? new Uint8Array();
    refs[name] = { sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.length };
  }
  return refs;
}
