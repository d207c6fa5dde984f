// `levee ctl broker-config mosquitto [--out-dir DIR]`: the files an external Mosquitto needs to
// authenticate levee's nodes and enforce their topic ACLs (for `levee cloud --mqtt-url`). Writes
// DIR/levee.passwd (mode 0600: it holds password hashes) and DIR/levee.acl, and prints the
// mosquitto.conf lines to add; stdout can be appended to a conf file as it is.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileDurably } from "../../runtime/durable-file.ts";
import { UsageError } from "../../runtime/errors.ts";
import { CtlFailure } from "./client.ts";
import { type CtlContext, takeArgs } from "./context.ts";

export const PASSWORD_FILE = "levee.passwd";
export const ACL_FILE = "levee.acl";

interface MosquittoConfig {
  passwordFile: string;
  aclFile: string;
}

export async function brokerConfig(ctx: CtlContext): Promise<number> {
  const [broker] = takeArgs(ctx.args, 1);
  if (broker !== "mosquitto") {
    throw new UsageError(
      broker === undefined
        ? "missing BROKER: levee ctl broker-config mosquitto"
        : `unknown broker "${broker}"; one of: mosquitto`,
    );
  }
  const answer = await ctx.client().request<MosquittoConfig>("GET", "/broker-config/mosquitto");
  if (typeof answer.passwordFile !== "string" || typeof answer.aclFile !== "string") {
    throw new CtlFailure("the cloud's answer has no passwordFile and aclFile; is it an older levee?");
  }
  const dir = resolve(ctx.options.outDir);
  const passwd = join(dir, PASSWORD_FILE);
  const acl = join(dir, ACL_FILE);
  try {
    mkdirSync(dir, { recursive: true });
    writeAtomically(passwd, answer.passwordFile, 0o600);
    writeAtomically(acl, answer.aclFile, 0o644);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CtlFailure(`cannot write the broker files in ${dir}: ${e.code ?? e.message}`);
  }
  ctx.out(
    [
      `# levee: wrote ${passwd} (mode 0600) and ${acl}; mosquitto must be able to read both.`,
      "# Add these lines to mosquitto.conf (or a file in conf.d), then restart mosquitto:",
      `password_file ${passwd}`,
      `acl_file ${acl}`,
      "allow_anonymous false",
      "",
    ].join("\n"),
  );
  return 0;
}

/** Writes a file through a temporary name, so a reader never sees half of it, with `mode`. */
function writeAtomically(path: string, text: string, mode: number): void {
  writeFileDurably(path, text.endsWith("\n") || text === "" ? text : `${text}\n`, { mode });
}
