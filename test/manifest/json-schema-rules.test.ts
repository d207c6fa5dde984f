// The exported JSON Schema refuses what apply refuses: every cross-field rule of the zod schemas
// (exactly one of node/nodeSelector, a command for an exec worker and an image for a container
// one after the override, one health check) is checked by a real JSON Schema validator (ajv,
// draft 2020-12) against the same manifests that the zod schema judges. Dayu's kinds have a schema.
import { describe, expect, test } from "bun:test";
import Ajv2020 from "ajv/dist/2020";
import { jmesSchema, runtimeServiceSchema } from "../../src/manifest/dayu/sedna-schema.ts";
import { jsonSchemaFor } from "../../src/manifest/json-schema.ts";
import { serviceSchema } from "../../src/manifest/service.ts";
import { container, jmes, runtimeService, worker } from "./dayu/helpers.ts";

type Obj = Record<string, unknown>;

/** A validator of the exported schema of `kind` (each in its own ajv: the $id is per kind). */
const validator = (kind: string) =>
  new Ajv2020({ strict: false, allErrors: true, validateFormats: false }).compile(jsonSchemaFor(kind));
const validateService = validator("Service");

function service(spec: Obj): Obj {
  return { apiVersion: "levee/v1", kind: "Service", metadata: { name: "web" }, spec };
}

/** What zod (apply) and the exported schema say: true when each accepts. */
function verdicts(manifest: Obj): { apply: boolean; schema: boolean } {
  return { apply: serviceSchema.safeParse(manifest).success, schema: validateService(manifest) };
}

const exec = { command: ["node", "server.js"] };

describe("the Service schema carries apply's cross-field rules", () => {
  const refused: [string, Obj][] = [
    ["node with nodeSelector", { template: exec, workers: [{ node: "e1", nodeSelector: { a: "b" } }] }],
    ["neither node nor nodeSelector", { template: exec, workers: [{ replicas: 2 }] }],
    ["an empty nodeSelector", { template: exec, workers: [{ nodeSelector: {} }] }],
    ["an exec worker without command", { template: { driver: "exec" }, workers: [{ node: "e1" }] }],
    ["the default driver without command", { workers: [{ node: "e1" }] }],
    ["one worker of two without command", { workers: [{ node: "e1", template: exec }, { node: "e2" }] }],
    [
      "a worker switching a container template to exec without command",
      {
        template: { driver: "container", image: "nginx:1" },
        workers: [{ node: "e1", template: { driver: "exec" } }],
      },
    ],
    ["a container worker without image", { template: { driver: "container" }, workers: [{ node: "e1" }] }],
    [
      "an exec override inheriting the shared image",
      {
        template: { driver: "container", image: "nginx:1" },
        workers: [{ node: "e1", template: { driver: "exec", ...exec } }],
      },
    ],
    ["an exec worker with an image", { template: { ...exec, image: "nginx:1" }, workers: [{ node: "e1" }] }],
    [
      "an image in an exec worker's override",
      { template: exec, workers: [{ node: "e1", template: { image: "nginx:1" } }] },
    ],
    [
      "two health checks",
      { template: { ...exec, port: 8080, health: { http: "/h", tcp: true } }, workers: [{ node: "e1" }] },
    ],
    ["a health check without a probe", { template: { ...exec, health: {} }, workers: [{ node: "e1" }] }],
    [
      "two health checks in an override",
      { template: exec, workers: [{ node: "e1", template: { health: { command: ["x"], tcp: 9 } } }] },
    ],
  ];
  for (const [what, spec] of refused) {
    test(`refused by both: ${what}`, () => {
      expect(verdicts(service(spec))).toEqual({ apply: false, schema: false });
    });
  }

  const accepted: [string, Obj][] = [
    ["node", { template: exec, workers: [{ node: "e1" }] }],
    ["nodeSelector", { template: exec, workers: [{ nodeSelector: { role: "camera" } }] }],
    ["the command in each override", { workers: [{ node: "e1", template: exec }] }],
    [
      "an override switching to container with its image",
      { workers: [{ node: "e1", template: { driver: "container", image: "nginx:1" } }] },
    ],
    [
      "a container worker in an exec service",
      { template: exec, workers: [{ node: "e1", template: { driver: "container", image: "nginx:1" } }] },
    ],
    ["one health check", { template: { ...exec, health: { command: ["true"] } }, workers: [{ node: "e1" }] }],
  ];
  for (const [what, spec] of accepted) {
    test(`accepted by both: ${what}`, () => {
      expect(verdicts(service(spec))).toEqual({ apply: true, schema: true });
    });
  }
});

describe("Dayu's kinds have a JSON Schema", () => {
  test("a JointMultiEdgeService and a RuntimeService conform; a wrong kind does not", () => {
    const jm = jmes({ edgeWorker: [worker("edge1")], cloudWorker: worker("cloud", [container()]) });
    const rts = runtimeService({ podTemplate: { spec: { containers: [container("gen:1")] } } });
    const cases: [string, Obj, unknown][] = [
      ["JointMultiEdgeService", jm, jmesSchema],
      ["jmes-plural:jointmultiedgeservices", jm, jmesSchema],
      ["RuntimeService", rts, runtimeServiceSchema],
    ];
    for (const [name, object, zod] of cases) {
      const kind = name.includes(":") ? (name.split(":")[1] ?? "") : name;
      const validate = validator(kind);
      expect((zod as typeof jmesSchema).safeParse(object).success).toBe(true);
      expect(validate(object)).toBe(true);
      expect(validate({ ...object, kind: "Service" })).toBe(false);
    }
    expect(jsonSchemaFor("RuntimeService").$id).toBe("urn:levee:schema:sedna.io:v1alpha1:RuntimeService");
  });
});
