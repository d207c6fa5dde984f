// Field types shared by the resource schemas: ports, paths, file names, command lines and
// environment maps. Values that end up in argv or the environment must be real strings (a YAML
// `PORT: 80` is a number and is refused with a hint to quote it: values are passed byte-exact, so
// levee never guesses how a number should be written) and must not contain NUL.
import { z } from "zod";
import { DEFAULT_PORTS } from "../runtime/host-port.ts";
import { describeValue } from "./issues.ts";

/** A string that can be passed to a process (argv, environment): no NUL character. */
export const processString = z.string().refine((s) => !s.includes("\0"), "must not contain a NUL character");

/** A TCP port number. */
export const portNumber = z
  .int({ error: (iss) => `expected a port number (1-65535), got ${describeValue(iss.input)}` })
  .min(1, "expected a port number between 1 and 65535")
  .max(65535, "expected a port number between 1 and 65535");

/**
 * The ports levee's own listeners take by default on every node: a service port or an upstream's
 * local port on one of them would fail on every node, so it is refused at apply. (Ports moved by
 * configuration are reported by the route's status on the node.)
 */
const LEVEE_PORTS: ReadonlyMap<number, string> = new Map([
  [DEFAULT_PORTS.mqtt, "the embedded MQTT broker"],
  [8883, "MQTT over TLS"],
  [DEFAULT_PORTS.api, "the cloud API"],
  [DEFAULT_PORTS.agent, "the local agent API"],
  [DEFAULT_PORTS.tunnel, "the mesh tunnel"],
  [DEFAULT_PORTS.proxy, "the mesh forward proxy"],
]);

/** A port a service may listen on through the mesh: any port but levee's own. */
export const meshPortNumber = portNumber.superRefine((port, ctx) => {
  const owner = LEVEE_PORTS.get(port);
  if (owner) {
    ctx.addIssue({
      code: "custom",
      message: `port ${port} is levee's own (${owner}) on every node; choose another`,
      input: port,
    });
  }
});

/** A command line: a non-empty list of strings, the program first. */
export const commandSchema = z
  .array(processString, {
    error: (iss) =>
      iss.input === undefined
        ? "required"
        : `expected a list of strings, e.g. ["node", "server.js"]; got ${describeValue(iss.input)}`,
  })
  .min(1, 'must name the program to run, e.g. ["node", "server.js"]')
  .refine((argv) => argv[0] !== "", {
    message: "the program (the first entry) must not be empty",
    path: [0],
  });

const ENV_NAME = /^[!-<>-~]+$/; // printable ASCII except '='

/** Environment variables: names are printable ASCII without '='; values are strings. */
export const envSchema = z
  .record(
    z.string().regex(ENV_NAME, {
      error: (iss) =>
        `environment variable name ${describeValue(iss.input)}: use printable ASCII without '=' or spaces`,
    }),
    processString,
  )
  .meta({ description: 'environment variables; values must be strings (quote numbers: PORT: "80")' });

/** A variable name a mount exports its path in (`envName`): a shell-friendly identifier. */
export const envName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    "expected a variable name: letters, digits and '_', not starting with a digit",
  );

/** An absolute path without NUL, "." or ".." segments. */
export const absolutePath = z.string().superRefine((path, ctx) => {
  const problem = !path.startsWith("/") ? "expected an absolute path (starting with '/')" : pathProblem(path);
  if (problem) ctx.addIssue({ code: "custom", message: problem, input: path });
});

/** A relative path that stays inside its directory: no leading '/', no ".." segment. */
export const relativePath = z.string().superRefine((path, ctx) => {
  const problem =
    path === "" ? "must not be empty" : path.startsWith("/") ? "must be relative" : pathProblem(path);
  if (problem) ctx.addIssue({ code: "custom", message: problem, input: path });
});

function pathProblem(path: string): string | undefined {
  if (path.includes("\0")) return "must not contain a NUL character";
  if (path.split("/").some((segment) => segment === "..")) return "must not contain '..'";
  return undefined;
}

/** Why a file name (a key of Config data) is not allowed, or undefined. */
export function fileNameProblem(name: string): string | undefined {
  if (name === "") return "file name must not be empty";
  if (name.length > 253) return `file name must be at most 253 characters, got ${name.length}`;
  if (name === "." || name === "..") return `file name must not be ${JSON.stringify(name)}`;
  if (name.includes("/")) return `file name ${JSON.stringify(name)} must not contain '/'`;
  if (name.includes("\0")) return "file name must not contain a NUL character";
  if (name === "__proto__") return 'file name "__proto__" is not allowed';
  return undefined;
}

/** A plain file name: no '/', not "." or "..", at most 253 characters. */
export const fileName = z.string().superRefine((name, ctx) => {
  const problem = fileNameProblem(name);
  if (problem) ctx.addIssue({ code: "custom", message: problem, input: name });
});

/** A file mode as an octal string ("0644"): YAML reads an unquoted 0644 as the decimal 644. */
export const fileMode = z
  .string({
    error: (iss) =>
      `expected the mode as a quoted octal string, e.g. "0644"; got ${describeValue(iss.input)}` +
      (typeof iss.input === "number" ? " (YAML reads an unquoted 0644 as the decimal number 644)" : ""),
  })
  .regex(/^0?[0-7]{3}$/, 'expected an octal file mode, e.g. "0644" or "0600"');
