// How many cases each fuzz property runs: bounded in `npm test` (CI's time), more with
// LEVEE_FUZZ_RUNS=N (the long profile: `LEVEE_FUZZ_RUNS=20000 bun test test/fuzz`). A fixed seed
// with LEVEE_FUZZ_SEED replays a failure fast-check reported. A case that hangs fails by the
// test's own timeout.
import type fc from "fast-check";

export function fuzzParameters(defaultRuns: number): fc.Parameters<unknown> {
  const runs = Number(process.env.LEVEE_FUZZ_RUNS ?? defaultRuns);
  const seed = process.env.LEVEE_FUZZ_SEED;
  return {
    numRuns: Number.isFinite(runs) && runs > 0 ? runs : defaultRuns,
    ...(seed !== undefined ? { seed: Number(seed) } : {}),
  };
}
