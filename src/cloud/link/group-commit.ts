// Group commit for the cloud's sync link: the effects of every sync message that arrived in one
// event-loop turn go into ONE SQLite transaction (one fsync instead of one per message: with
// synchronous=FULL a commit was most of the cloud's time at a few thousand edges), and what must
// wait for that commit (messages to edges, callbacks) runs after it.
//
// Nothing else is ever inside the batch: it opens and commits within one synchronous call
// (run), so an API request's transaction can never become part of it. Each message is a unit (a
// savepoint, as store.tx is when nested): one that throws is undone alone, with its deferred
// actions. A batch that cannot commit is rolled back whole and nothing it deferred is done; the
// sync link's writes are level-triggered state that the next hello or heartbeat repeats, and an
// edge deletes its status outbox rows only on a status-ack, sent after the commit.
import type { Logger } from "../../runtime/log.ts";
import type { Store } from "../../store/store.ts";

interface Deferred {
  action: () => void;
  key?: string | undefined;
}

export class GroupCommit {
  /** Actions waiting for the open batch's commit; undefined when no batch is open. */
  #after: Deferred[] | undefined;
  /** The keys of the open batch's laterOnce actions. */
  #keys = new Set<string>();
  #batches = 0;
  #units = 0;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /** Whether a batch is open (we are inside run). */
  get open(): boolean {
    return this.#after !== undefined;
  }

  /** Batches committed and units run so far. */
  stats(): { batches: number; units: number } {
    return { batches: this.#batches, units: this.#units };
  }

  /** Runs `action` after the open batch commits, or now when no batch is open. */
  later(action: () => void): void {
    if (this.#after) this.#after.push({ action });
    else this.#safely(action);
  }

  /** As later, but within one batch only the first action of each key runs. */
  laterOnce(key: string, action: () => void): void {
    if (!this.#after) this.#safely(action);
    else if (!this.#keys.has(key)) {
      this.#keys.add(key);
      this.#after.push({ action, key });
    }
  }

  /**
   * Runs fn in one transaction and then what it deferred (later); inside an open batch, fn is
   * simply part of it. False when the transaction rolled back (logged; nothing deferred is done).
   */
  run(what: string, fn: () => void): boolean {
    if (this.#after) {
      fn();
      return true;
    }
    const after: Deferred[] = [];
    this.#after = after;
    this.#keys.clear();
    let committed = false;
    try {
      this.store.tx(() => fn());
      committed = true;
      this.#batches++;
    } catch (err) {
      this.log.error("sync transaction rolled back", { what, error: err });
    } finally {
      this.#after = undefined;
      this.#keys.clear();
    }
    if (committed) for (const { action } of after) this.#safely(action);
    return committed;
  }

  /**
   * One unit of the open batch (a savepoint): if fn throws, its writes and the actions it
   * deferred are undone and the error is rethrown. Outside a batch it is a batch of its own.
   */
  unit(fn: () => void): void {
    const after = this.#after;
    if (!after) {
      let failure: unknown;
      const ok = this.run("unit", () => {
        try {
          this.unit(fn);
        } catch (err) {
          failure = err;
        }
      });
      if (failure !== undefined || !ok) throw failure ?? new Error("sync transaction rolled back");
      return;
    }
    const mark = after.length;
    try {
      this.store.tx(() => fn());
      this.#units++;
    } catch (err) {
      for (const undone of after.splice(mark)) if (undone.key !== undefined) this.#keys.delete(undone.key);
      throw err;
    }
  }

  #safely(action: () => void): void {
    try {
      action();
    } catch (err) {
      this.log.error("sync action after commit failed", { error: err });
    }
  }
}

/**
 * Items pushed during one event-loop turn, handled together in one batch on the next setImmediate.
 * `handle` runs as a unit per item; `failed` hears about an item whose unit threw.
 */
export class TurnQueue<T> {
  #items: T[] = [];
  #timer: ReturnType<typeof setImmediate> | undefined;

  constructor(
    private readonly commit: GroupCommit,
    private readonly handle: (item: T) => void,
    private readonly failed: (item: T, err: unknown) => void,
  ) {}

  push(item: T): void {
    this.#items.push(item);
    this.#timer ??= setImmediate(() => this.flush());
  }

  get pending(): number {
    return this.#items.length;
  }

  /** Handles every queued item now, in one batch. */
  flush(): void {
    if (this.#timer) clearImmediate(this.#timer);
    this.#timer = undefined;
    if (this.#items.length === 0) return;
    const items = this.#items;
    this.#items = [];
    this.commit.run("sync messages", () => {
      for (const item of items) {
        try {
          this.commit.unit(() => this.handle(item));
        } catch (err) {
          this.failed(item, err);
        }
      }
    });
  }
}
