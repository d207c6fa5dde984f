// Structured logging: JSON lines (journald- and jq-friendly) or aligned text for terminals.
// Written to stderr so that stdout stays free for command output. Fields whose names look like
// secrets are replaced by "[redacted]" so that a token never reaches a log file. When stderr is
// the systemd journal (journal-stream.ts), each line starts with its syslog priority (`<3>` for
// an error...), so that `journalctl -p warning` finds warnings and errors.
import { fdIsJournal, priorityPrefix } from "./journal-stream.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type Fields = Record<string, unknown>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /(token|password|secret|authorization|credential|private.?key)/i;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger whose lines all carry these fields (e.g. {component: "broker"}). */
  child(fields: Fields): Logger;
}

export interface LoggerOptions {
  level: LogLevel;
  format: "json" | "text";
  write?: (line: string) => void;
  /**
   * Start each line with its `<N>` syslog priority. Default: when writing to stderr (no `write`)
   * and stderr is the stream JOURNAL_STREAM names.
   */
  journal?: boolean;
}

export function redact(fields: Fields): Fields {
  const out: Fields = {};
  for (const [key, value] of Object.entries(fields)) {
    if (SECRET_KEY.test(key) && value !== undefined && value !== null && value !== "")
      out[key] = "[redacted]";
    else if (value instanceof Error) out[key] = value.message;
    else out[key] = value;
  }
  return out;
}

function textValue(value: unknown): string {
  const s = typeof value === "string" ? value : JSON.stringify(value);
  return /[\s"=]/.test(s ?? "") ? JSON.stringify(s) : String(s);
}

export function createLogger(options: LoggerOptions, bound: Fields = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const journal = options.journal ?? (options.write === undefined && fdIsJournal(2));
  const min = RANK[options.level];
  const emit = (level: LogLevel, msg: string, fields?: Fields) => {
    if (RANK[level] < min) return;
    const all = redact({ ...bound, ...fields });
    const time = new Date().toISOString();
    const prefix = journal ? priorityPrefix(level) : "";
    if (options.format === "json") {
      write(prefix + JSON.stringify({ time, level, msg, ...all }));
    } else {
      const rest = Object.entries(all)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${textValue(v)}`)
        .join(" ");
      write(`${prefix}${time} ${level.toUpperCase().padEnd(5)} ${msg}${rest ? ` ${rest}` : ""}`);
    }
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => createLogger({ ...options, write, journal }, { ...bound, ...fields }),
  };
}
