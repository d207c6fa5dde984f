// YAML documents read within a nesting depth: the `yaml` package's parseAllDocuments, but the
// depth is bounded BEFORE any node is composed. Its Composer (and toJS after it) recurse once per
// level: 100,000 nested `[` or `- ` overflow the stack in a 200 KB manifest, and parsing it whole
// takes ~150 MB. So this drives the package's own CST Parser (iterative) one lexical token at a
// time, and after each token counts the collections open on the parser's stack (`parser.stack`, a
// public field: the document, the open block maps, block sequences and flow collections, and at
// most the scalar being read). Once more than `maxDepth` collections are open it stops, before
// reading further, so memory stays proportional to `maxDepth`, not to the input. The documents
// completed before that point are composed (with the same Composer parseAllDocuments uses) so
// that their numbering stays right.
//
// Why not a text pre-scan: block scalars (`|`, `>`) may hold deeply indented code, `- - - x` nests
// three levels on one line, and quotes, comments and flow/block mixing make counting brackets or
// indentation either wrong or a second YAML parser. The Parser is the one that reads the text
// anyway, so its stack is the exact depth (a JSON text nests as deep in YAML as in JSON).
import type { CST, Document, DocumentOptions, LineCounter, ParseOptions, SchemaOptions } from "yaml";
import { MAX_NESTING_DEPTH, type TooDeep } from "../runtime/bounded-json.ts";

export interface BoundedYaml {
  /** The documents before the one that nests too deep (all of them when none does). */
  documents: Document.Parsed[];
  /** Where the text first nests deeper than the limit; nothing after it was read. */
  tooDeep?: TooDeep;
}

const COLLECTIONS = new Set(["block-map", "block-seq", "flow-collection"]);

/** parseAllDocuments(text, options) with the nesting bounded (see the header). */
export function parseYamlWithin(
  text: string,
  lineCounter: LineCounter,
  options: ParseOptions & DocumentOptions & SchemaOptions,
  maxDepth: number = MAX_NESTING_DEPTH,
): BoundedYaml {
  // Required here, not imported at the top: see loadYaml in documents.ts.
  const { Composer, Lexer, Parser } = require("yaml") as typeof import("yaml");
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0); // what Parser.parse does before the first token
  const tokens: CST.Token[] = [];
  let tooDeep: TooDeep | undefined;
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    // The stack holds the document and at most one scalar besides the collections.
    if (parser.stack.length > maxDepth + 1 && openCollections(parser.stack) > maxDepth) {
      const { line, col } = lineCounter.linePos(parser.offset - lexeme.length);
      tooDeep = { line, column: col };
      break;
    }
  }
  if (!tooDeep) for (const token of parser.end()) tokens.push(token);
  const documents = Array.from(new Composer(options).compose(tokens));
  return tooDeep ? { documents, tooDeep } : { documents };
}

function openCollections(stack: readonly { type: string }[]): number {
  let n = 0;
  for (const token of stack) if (COLLECTIONS.has(token.type)) n++;
  return n;
}
