// A Dayu container's resources.limits and env secretKeyRef: the worker's resources and secretEnv
// (a levee Secret of the same name); a bad quantity is refused with its path.
import { describe, expect, test } from "bun:test";
import { container, expectIssue, jmes, resolved, translate, worker } from "./helpers.ts";

describe("resources and secrets of a Dayu container", () => {
  test("limits become resources; secretKeyRef becomes secretEnv, a later value wins", () => {
    const env = [
      { name: "TOKEN", valueFrom: { secretKeyRef: { name: "api", key: "token" } } },
      { name: "PLAIN", value: "x" },
      { name: "PLAIN", valueFrom: { secretKeyRef: { name: "api", key: "plain" } } },
      { name: "GONE", valueFrom: { secretKeyRef: { name: "api", key: "gone" } } },
      { name: "GONE", value: "y" },
    ];
    const pod = worker("edge1", [
      container("img:1", { env, resources: { limits: { cpu: "500m", memory: "128Mi" } } }),
    ]);
    const { service } = translate(jmes({ edgeWorker: [pod] }));
    const template = resolved(service, 0);
    expect(template.resources).toEqual({ cpu: "500m", memory: "128Mi" });
    expect(template.secretEnv).toEqual({
      TOKEN: { secret: "api", key: "token" },
      PLAIN: { secret: "api", key: "plain" },
    });
    expect(template.env?.GONE).toBe("y");
    expect(template.env?.PLAIN).toBeUndefined();
  });

  test("a quantity levee cannot read, or a Secret name no levee name, is refused with its path", () => {
    const bad = worker("edge1", [container("img:1", { resources: { limits: { memory: "lots" } } })]);
    expectIssue(
      jmes({ edgeWorker: [bad] }),
      "spec.edgeWorker[0].template.spec.containers[0].resources.limits.memory",
      /expected a memory quantity/,
    );
    const env = [{ name: "T", valueFrom: { secretKeyRef: { name: "Not_A_Name", key: "k" } } }];
    expectIssue(
      jmes({ edgeWorker: [worker("edge1", [container("img:1", { env })])] }),
      "spec.edgeWorker[0].template.spec.containers[0].env[0].valueFrom.secretKeyRef.name",
      /levee Secret/,
    );
  });
});
