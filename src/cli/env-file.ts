// Env files as systemd's EnvironmentFile= reads them (systemd.exec(5)): writing a value so that
// systemd reads back exactly that value, parsing an existing file, masking its values for
// printing, and setting variables while keeping the rest of a hand-edited file.

/** A value in double quotes: systemd unescapes \" \\ \` \$ there and keeps everything else. */
export function quoteEnvValue(value: string): string {
  return `"${value.replace(/[\\"`$]/g, "\\$&")}"`;
}

export interface EnvEntry {
  key: string;
  value: string;
  /** The assignment is text.slice(start, end); end is at its final newline or the end. */
  start: number;
  end: number;
}

/**
 * Parses an env file with systemd's rules (systemd.exec(5), EnvironmentFile=): # and ; start
 * comments; unquoted values are trimmed and \ escapes the next character; '...' is verbatim;
 * "..." unescapes \" \\ \` \$ and drops \ + newline; quoted values may span lines.
 */
export function parseEnvFile(text: string): EnvEntry[] {
  const entries: EnvEntry[] = [];
  type State = "preKey" | "key" | "preValue" | "value" | "valueEscape" | "single" | "double" | "doubleEscape";
  let state: State | "comment" = "preKey";
  let key = "";
  let value = "";
  let start = 0;
  let trimAt = -1; // where trailing whitespace of an unquoted value starts
  const push = (end: number) => {
    if (state === "value" && trimAt >= 0) value = value.slice(0, trimAt);
    entries.push({ key: key.trimEnd(), value, start, end });
    state = "preKey";
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    const newline = c === "\n" || c === "\r";
    switch (state) {
      case "preKey":
        if (c === "#" || c === ";") state = "comment";
        else if (!/\s/.test(c)) [state, key, value, start] = ["key", c, "", i];
        break;
      case "comment":
        if (newline) state = "preKey";
        break;
      case "key":
        if (newline) state = "preKey";
        else if (c === "=") state = "preValue";
        else key += c;
        break;
      case "preValue":
        if (newline) push(i);
        else if (c === "'") state = "single";
        else if (c === '"') state = "double";
        else if (c === "\\") state = "valueEscape";
        else if (!/\s/.test(c)) [state, value, trimAt] = ["value", value + c, -1];
        break;
      case "value":
        if (newline) push(i);
        else if (c === "\\") [state, trimAt] = ["valueEscape", -1];
        else {
          if (!/\s/.test(c)) trimAt = -1;
          else if (trimAt < 0) trimAt = value.length;
          value += c;
        }
        break;
      case "valueEscape":
        if (!newline) value += c;
        state = "value";
        break;
      case "single":
        if (c === "'") state = "preValue";
        else value += c;
        break;
      case "double":
        if (c === '"') state = "preValue";
        else if (c === "\\") state = "doubleEscape";
        else value += c;
        break;
      case "doubleEscape":
        if ('"\\`$'.includes(c)) value += c;
        else if (c !== "\n") value += `\\${c}`;
        state = "double";
        break;
    }
  }
  if (state !== "preKey" && state !== "comment" && state !== "key") push(text.length);
  return entries;
}

/** The env file with every value replaced by *** (for --dry-run output). */
export function maskEnvFile(text: string): string {
  let out = "";
  let at = 0;
  for (const e of parseEnvFile(text)) {
    out += `${text.slice(at, e.start)}${e.key}=***`;
    at = e.end;
  }
  return out + text.slice(at);
}

/** Sets the given variables; every other line of an existing file (comments too) is kept. */
export function mergeEnvFile(
  existing: string | undefined,
  header: string,
  set: Record<string, string>,
): string {
  let text = existing ?? header;
  const replaced = parseEnvFile(text).filter((e) => e.key in set);
  for (const e of replaced.reverse()) text = text.slice(0, e.start) + text.slice(e.end + 1);
  if (text.length > 0 && !text.endsWith("\n")) text += "\n";
  for (const [name, value] of Object.entries(set)) text += `${name}=${quoteEnvValue(value)}\n`;
  return text;
}
