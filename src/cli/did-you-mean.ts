// ` (did you mean "get"?)` for a mistyped subcommand or kind: the nearest known word a few edits
// away that starts with the same letter (so that "pods" suggests nothing rather than "nodes").
import { closest } from "../manifest/issues.ts";

export function didYouMean(word: string, known: readonly string[]): string {
  const first = word.charAt(0).toLowerCase();
  const near = closest(
    word,
    known.filter((k) => k.charAt(0).toLowerCase() === first),
  );
  return near ? ` (did you mean "${near}"?)` : "";
}
