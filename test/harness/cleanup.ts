// Preloaded by bun test (bunfig.toml): after the last test, kill leftover agents and remove temp
// dirs, which process "exit" handlers cannot do under bun test.
import { afterAll } from "bun:test";
import { cleanupTestResources } from "./cluster.ts";

afterAll(cleanupTestResources);
