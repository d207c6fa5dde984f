// Counters with one label, e.g. levee_sync_dropped_total{reason="bad-schema"}: cheap to bump on
// every dropped or refused message, and readable as a snapshot for /metrics or a test.

export class Counter {
  private readonly values = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly label: string,
  ) {}

  inc(labelValue: string, by = 1): void {
    this.values.set(labelValue, (this.values.get(labelValue) ?? 0) + by);
  }

  get(labelValue: string): number {
    return this.values.get(labelValue) ?? 0;
  }

  total(): number {
    let sum = 0;
    for (const v of this.values.values()) sum += v;
    return sum;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.values);
  }

  /** Prometheus text lines: name{label="value"} count. */
  lines(): string[] {
    return [...this.values].map(
      ([value, count]) => `${this.name}{${this.label}=${JSON.stringify(value)}} ${count}`,
    );
  }
}
