// Label and field selectors as Kubernetes parses them, and a malformed one as a BadRequest.
import { describe, expect, test } from "bun:test";
import { parseFieldSelector, parseLabelSelector } from "../../src/kube/selectors.ts";
import { KubeError } from "../../src/kube/status.ts";

const labels = { app: "dayu", "jointmultiedge.sedna.io/name": "controller", tier: "edge" };

describe("label selectors", () => {
  test.each([
    ["", true],
    ["app=dayu", true],
    ["app==dayu", true],
    ["app!=dayu", false],
    ["jointmultiedge.sedna.io/name=controller", true],
    ["app=dayu,tier=cloud", false],
    ["tier in (edge, cloud)", true],
    ["tier notin (edge)", false],
    ["app", true],
    ["!app", false],
    ["missing!=x", true],
    ["!missing", true],
  ])("%p matches: %p", (selector, expected) => {
    expect(parseLabelSelector(selector)(labels)).toBe(expected);
  });

  test("a bad key or value is a BadRequest naming it", () => {
    expect(() => parseLabelSelector("a b=c")).toThrow(KubeError);
    expect(() => parseLabelSelector("app=in valid")).toThrow(/invalid label/);
  });
});

describe("field selectors", () => {
  const fields = { "metadata.name": "p", "spec.nodeName": "edge1", "status.phase": "Running" };
  const supported = ["metadata.name", "spec.nodeName", "status.phase"];

  test("=, == and != over the supported fields; !=null compares with the text null", () => {
    expect(parseFieldSelector("spec.nodeName=edge1", supported)(fields)).toBe(true);
    expect(parseFieldSelector("spec.nodeName==edge2", supported)(fields)).toBe(false);
    expect(parseFieldSelector("spec.nodeName!=null", supported)(fields)).toBe(true);
    expect(parseFieldSelector("spec.nodeName=edge1,status.phase!=Running", supported)(fields)).toBe(false);
  });

  test("an unsupported field is refused with the list of supported ones", () => {
    expect(() => parseFieldSelector("spec.other=x", supported)).toThrow(
      /field label not supported: spec.other/,
    );
    expect(() => parseFieldSelector("nonsense", supported)).toThrow(/is not field=value/);
  });
});
