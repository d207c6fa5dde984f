// Reading Prometheus' text format in tests: the value of one series, as it is written.

/** The value of one series, e.g. sample(text, 'levee_nodes{phase="Ready"}'); undefined when absent. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
