// Rewrites the generated parts of README.md (the configuration reference) from the schema.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withReference } from "../src/config/reference.ts";

const path = join(import.meta.dir, "..", "README.md");
const before = readFileSync(path, "utf8");
const after = withReference(before);
if (after !== before) writeFileSync(path, after);
console.log(after === before ? "README.md is up to date" : "README.md: configuration reference rewritten");
