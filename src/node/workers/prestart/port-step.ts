// Prestart step 6: the worker's port. A fixed port is the template's; `port: auto` takes the
// worker's port from the host's registry (the same one across restarts; the one the worker had
// before is offered first, e.g. after a reboot emptied the registry). A registry locked by
// another agent for too long is a transient error: the worker backs off and tries again.
import type { PortRegistry } from "./port-registry.ts";
import type { PrestartStep } from "./prestart-step.ts";

export function portStep(ports: Pick<PortRegistry, "allocate">): PrestartStep {
  return {
    name: "port",
    async prestart({ desired, heldPort }) {
      const { port } = desired.template;
      if (port === undefined) return { port: undefined };
      if (port !== "auto") return { port };
      const preferred = heldPort === undefined ? undefined : { port: heldPort, held: true };
      return { port: await ports.allocate(desired.key, preferred) };
    },
  };
}
