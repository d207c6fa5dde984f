// What the Kubernetes API tests share: Debian's python3 with python3-kubernetes (which .ci/run
// installs; CI must not skip the tests that need it), the fixture that makes Dayu's calls, and an
// ImageMap that runs Dayu's container images `levee-test/who:*` as the test HTTP worker.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BUN, REPO_ROOT } from "./process.ts";

export const PYTHON = "/usr/bin/python3";
export const DAYU_CALLS = join(REPO_ROOT, "test/fixtures/dayu_kube_calls.py");

export const HAVE_PYTHON_CLIENT =
  existsSync(PYTHON) && Bun.spawnSync([PYTHON, "-c", "import kubernetes"]).exitCode === 0;
if (process.env.CI && !HAVE_PYTHON_CLIENT)
  throw new Error("CI: /usr/bin/python3 with python3-kubernetes is required");

export const WHO_IMAGE_MAP = {
  apiVersion: "levee/v1",
  kind: "ImageMap",
  metadata: { name: "kube-test" },
  spec: {
    images: [
      { imagePrefix: "levee-test/who:", command: [BUN, join(REPO_ROOT, "test/fixtures/http-worker.ts")] },
    ],
  },
};
