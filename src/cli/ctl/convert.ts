// `levee ctl convert -f FILE|- [-o yaml|json]`: the native manifests a file stands for, printed
// without applying anything and without a server. Dayu objects (JointMultiEdgeService,
// RuntimeService) become the Services the cloud would make of them, with the ImageMaps of the same
// file; native objects are printed as written. Warnings go to standard error; a manifest the API
// would refuse fails like `apply` does (exit 1, one line per issue).
import { loadDocuments } from "../../manifest/documents.ts";
import { validateDocuments } from "../../manifest/manifest.ts";
import { UsageError } from "../../runtime/errors.ts";
import { CtlFailure, issueLines } from "./client.ts";
import { type CtlContext, takeArgs } from "./context.ts";
import { toJson, toYaml } from "./format.ts";
import { readManifest, warningLines } from "./manifest-file.ts";

export async function convert(ctx: CtlContext): Promise<number> {
  takeArgs(ctx.args, 0);
  const { filename, output } = ctx.options;
  if (!filename) throw new UsageError("missing -f FILE (a YAML or JSON manifest, or - for standard input)");
  const body = await readManifest(filename);
  // Read once: validated here, and the objects as written are what the translation reads.
  const documents = loadDocuments(body.text as string, body.contentType);
  const parsed = validateDocuments(documents);
  if (!parsed.ok)
    throw new CtlFailure("invalid manifest; nothing was converted", issueLines(parsed.issues), false, 2);
  // Loaded here: the translation is only needed by this subcommand.
  const { convertLocally } = await import("../../manifest/dayu/convert-local.ts");
  const converted = convertLocally(
    parsed.objects,
    documents.map((doc) => doc.value),
  );
  if (!converted.ok) {
    throw new CtlFailure(
      "the manifest cannot be converted; nothing was converted",
      issueLines(converted.issues),
      false,
      2,
    );
  }
  process.stderr.write(warningLines(converted.warnings));
  if (output === "json") ctx.out(toJson({ apiVersion: "levee/v1", kind: "List", items: converted.objects }));
  else ctx.out(converted.objects.map((o) => toYaml(o)).join("---\n"));
  return 0;
}
