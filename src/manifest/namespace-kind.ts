// The Namespace kind: a name that objects are grouped under (`metadata.namespace`). Applying an
// object into a namespace that does not exist yet creates it; deleting a namespace deletes every
// object in it. `default` always exists. Only metadata, like a Node.
import type { z } from "zod";
import { resourceSchema } from "./meta.ts";

export const namespaceSchema = resourceSchema("Namespace", {});

export type NamespaceResource = z.output<typeof namespaceSchema>;
