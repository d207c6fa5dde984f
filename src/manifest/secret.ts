// The Secret kind: named values for workers (like a Kubernetes Secret), mounted as files with a
// `secret:` mount (mode 0400 by default) or passed as variables with `secretEnv`. `data` holds
// base64 of any bytes, `stringData` UTF-8 text; a key is in at most one of them, and all values
// together are at most 1 MiB. A Secret travels like a Config: a node's plan names each value's
// sha256 and size under the key secretPlanKey(name) of `configFiles`, and the node fetches the
// bytes with its own credentials (only what its plan references). Nothing levee prints shows a
// value: the API answers with redactSecret()'s keys and sizes.
import { z } from "zod";
import { base64, checkFiles, configFile, mebibytes, text } from "./config.ts";
import { fileName } from "./fields.ts";
import { resourceSchema } from "./meta.ts";

export const secretSchema = resourceSchema("Secret", {
  type: z
    .string()
    .optional()
    .meta({ description: "free text kept with the Secret (Kubernetes' type, e.g. Opaque); not used" }),
  data: z.record(fileName, base64).default({}).meta({ description: "key → base64 of the value" }),
  stringData: z.record(fileName, text).default({}).meta({ description: "key → the value as UTF-8 text" }),
}).superRefine((secret, ctx) =>
  checkFiles(secret, ctx, {
    text: "stringData",
    binary: "data",
    entry: "key",
    tooLarge: (size) => `the values add up to ${mebibytes(size)}; a Secret holds at most 1 MiB`,
  }),
);

export type SecretResource = z.output<typeof secretSchema>;

/** What the store keeps of a Secret (its spec). */
export interface SecretSpec {
  type?: string | undefined;
  data?: Record<string, string> | undefined;
  stringData?: Record<string, string> | undefined;
}

/** A Secret's values in a Config's shape (text in data, base64 in binaryData), for configFile(Refs). */
export function secretFiles(secret: SecretSpec): {
  data: Record<string, string>;
  binaryData: Record<string, string>;
} {
  return { data: secret.stringData ?? {}, binaryData: secret.data ?? {} };
}

/** The bytes of one value of a Secret, or undefined when it has no such key. */
export function secretValue(secret: SecretSpec, key: string): Uint8Array | undefined {
  return configFile(secretFiles(secret), key);
}

const PLAN_PREFIX = "secret:";

/** The name a Secret's values have in a plan's configFiles: never a Config's (a DNS name has no colon). */
export function secretPlanKey(key: string): string {
  return `${PLAN_PREFIX}${key}`;
}

/** The Secret key a plan name stands for, or undefined when it names a Config. */
export function secretOfPlanKey(name: string): string | undefined {
  return name.startsWith(PLAN_PREFIX) ? name.slice(PLAN_PREFIX.length) : undefined;
}

/** How a value shows wherever a Secret is printed: its size, never its bytes. */
export function redactedSize(bytes: number): string {
  return `(redacted: ${bytes} bytes)`;
}

/** A Secret as the API shows it: every key with its size instead of the value. */
export function redactSecret(secret: SecretSpec): { type?: string; data: Record<string, string> } {
  const files = secretFiles(secret);
  const data: Record<string, string> = {};
  for (const key of [...Object.keys(files.binaryData), ...Object.keys(files.data)].sort())
    data[key] = redactedSize(configFile(files, key)?.length ?? 0);
  return { ...(secret.type !== undefined ? { type: secret.type } : {}), data };
}
