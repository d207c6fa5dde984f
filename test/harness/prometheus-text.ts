// Reading Prometheus' text format in tests: the value of one series, as it is written.

/** The value of one series, e.g. sample(text, 'levee_nodes{phase="Ready"}'); undefined when absent. */
export function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The sum of the samples of `name` whose labels contain every one of `labels` (e.g. 'service="who"'). */
export function sampleSum(text: string, name: string, labels: string[] = []): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!labels.every((l) => line.includes(l))) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}
