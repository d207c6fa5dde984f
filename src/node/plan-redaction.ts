// What the local agent API shows of a node's plan without the agent token: the plan with every
// value that may be a secret replaced by its size — the workers' environment values, and the
// sha256 of each Config file (plans carry Config files by reference: name → {sha256, size}) — so
// that names, structure and sizes stay visible for diagnosis. No hash of a value is shown: a hash
// of a short secret (a password) can be guessed offline. Pure: the plan in, a redacted copy out.

/** The text that replaces a value: its size in bytes (of the string as stored in the plan). */
export function redactedValue(value: string): string {
  return `(redacted: ${Buffer.byteLength(value)} bytes)`;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Every string value of a record replaced by redactedValue; other values dropped to their type. */
function redactRecord(record: unknown): unknown {
  if (!isObject(record)) return record;
  return Object.fromEntries(
    Object.entries(record).map(([key, value]) => [
      key,
      typeof value === "string" ? redactedValue(value) : `(redacted: ${typeof value})`,
    ]),
  );
}

function redactTemplate(template: unknown): unknown {
  if (!isObject(template) || !("env" in template)) return template;
  return { ...template, env: redactRecord(template.env) };
}

function redactService(service: unknown): unknown {
  if (!isObject(service) || !Array.isArray(service.workers)) return service;
  return {
    ...service,
    workers: service.workers.map((w) => (isObject(w) ? { ...w, template: redactTemplate(w.template) } : w)),
  };
}

/** A Config's file references with their hashes hidden: file name → {size, sha256: "(redacted)"}. */
function redactConfigFiles(files: unknown): unknown {
  if (!isObject(files)) return files;
  return Object.fromEntries(
    Object.entries(files).map(([file, ref]) => [
      file,
      isObject(ref) ? { ...ref, sha256: "(redacted)" } : ref,
    ]),
  );
}

/** A copy of a node plan (as stored) with env values and Config file hashes hidden. */
export function redactPlan(plan: Json): Json {
  const out: Json = { ...plan };
  if (Array.isArray(plan.services)) out.services = plan.services.map(redactService);
  if (isObject(plan.configFiles))
    out.configFiles = Object.fromEntries(
      Object.entries(plan.configFiles).map(([k, v]) => [k, redactConfigFiles(v)]),
    );
  return out;
}
