// How to start another copy of this program: the compiled binary itself, or bun + the entry
// script when running from source.
import { isCompiled } from "./version.ts";

export function selfCommand(): string[] {
  return isCompiled() ? [process.execPath] : [process.execPath, Bun.main];
}
