// What the local agent API shows of a node's plan without the agent token: the plan with every
// value that may be a secret replaced by its size — the workers' environment values and the
// content of Config files (data and binaryData) — so that names, structure and sizes stay visible
// for diagnosis. No hash of a value is shown: a hash of a short secret (a password) can be guessed
// offline. Pure: the plan in, a redacted copy out.

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

function redactConfig(config: unknown): unknown {
  if (!isObject(config)) return config;
  const out: Json = { ...config };
  for (const field of ["data", "binaryData"]) if (field in out) out[field] = redactRecord(out[field]);
  return out;
}

/** A copy of a node plan (as stored) with env values and Config data replaced by their sizes. */
export function redactPlan(plan: Json): Json {
  const out: Json = { ...plan };
  if (Array.isArray(plan.services)) out.services = plan.services.map(redactService);
  if (isObject(plan.configs))
    out.configs = Object.fromEntries(Object.entries(plan.configs).map(([k, v]) => [k, redactConfig(v)]));
  return out;
}
