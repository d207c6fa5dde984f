// A worker's health check: exactly one of http (a path on the worker's port), tcp (the worker's
// port, or another port) or command (run in the worker's environment; exit 0 is healthy). A
// worker is ready after successThreshold passes in a row and not ready after failureThreshold
// failures; with `liveness: true` a worker that stays unhealthy is restarted as well.
import { z } from "zod";
import { duration } from "./duration.ts";
import { commandSchema, portNumber } from "./fields.ts";
import { describeValue, exactlyOne, strict } from "./issues.ts";
import { exactlyOneOf } from "./schema-rules.ts";

const httpPath = z
  .string()
  .regex(/^\/[!-~]*$/, 'expected a URL path starting with "/", e.g. "/health" (no spaces)');

const tcpTarget = z.union([z.literal(true), portNumber], {
  error: (iss) => `expected true (the worker's port) or a port number, got ${describeValue(iss.input)}`,
});

export const healthSchema = strict({
  http: httpPath
    .optional()
    .meta({ description: "GET this path on the worker's port; 2xx or 3xx is healthy" }),
  tcp: tcpTarget.optional().meta({ description: "connect to the worker's port (true) or to this port" }),
  command: commandSchema.optional().meta({ description: "run this command; exit code 0 is healthy" }),
  interval: duration({ min: 1 }).default("10s"),
  timeout: duration({ min: 1 }).default("2s"),
  successThreshold: z.int().min(1).max(100).default(1),
  failureThreshold: z.int().min(1).max(100).default(3),
  liveness: z.boolean().default(false).meta({ description: "also restart the worker when it is unhealthy" }),
})
  .superRefine(exactlyOne(["http", "tcp", "command"], "health check"))
  .meta(exactlyOneOf(["http", "tcp", "command"]));

export type Health = z.output<typeof healthSchema>;

/** Whether a check needs the worker's own port (http, or tcp: true). */
export function healthNeedsPort(health: Health): boolean {
  return health.http !== undefined || health.tcp === true;
}
