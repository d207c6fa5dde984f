// The edge's status-ack handler (a status-ack's or a sack's seq) without a broker, with the real outbox: the rows a batch carried
// are forgotten unless the worker's status changed since (a newer status replaces an unsent older
// one: coalesced), and what is still unsent goes out at once in a new batch.
import { describe, expect, test } from "bun:test";
import { flushStatus, sendHeartbeat } from "../../../../src/node/link/handlers/outbound.ts";
import { handleStatusAck } from "../../../../src/node/link/handlers/status-ack.ts";
import type { Message } from "../../../../src/protocol/messages.ts";
import { edgeFixture, worker } from "./fixture.ts";

const carried = (messages: Message[]) =>
  messages.map((m) =>
    m.type === "status" ? { seq: m.seq, workers: m.workers.map((w) => `${w.service}:${w.phase}`) } : m.type,
  );

describe("status-ack", () => {
  test("everything the batch carried is acked: the outbox is empty, nothing more is sent", () => {
    const f = edgeFixture();
    f.outbox.record(worker("web", "Running"));
    f.outbox.record(worker("db", "Running"));
    flushStatus(f.ctx, false);
    expect(carried(f.takeUp())).toEqual([{ seq: 1, workers: ["db:Running", "web:Running"] }]);
    handleStatusAck(f.ctx, 1);
    expect(f.outbox.depth()).toBe(0);
    expect(f.takeUp()).toEqual([]);
  });

  test("a status that changed while its batch was on the way stays, and goes out at once", () => {
    const f = edgeFixture();
    f.outbox.record(worker("web", "Starting"));
    f.outbox.record(worker("db", "Running"));
    flushStatus(f.ctx, false);
    f.takeUp();
    // Two newer statuses of web before the ack: coalesced into one row, the latest.
    f.outbox.record(worker("web", "Running"));
    f.outbox.record(worker("web", "Failed"));
    handleStatusAck(f.ctx, 1);
    expect(carried(f.takeUp())).toEqual([{ seq: 2, workers: ["web:Failed"] }]);
    expect(f.outbox.depth()).toBe(1);
    handleStatusAck(f.ctx, 2);
    expect(f.outbox.depth()).toBe(0);
  });

  test("an ack of a batch never sent (or already acked) changes nothing", () => {
    const f = edgeFixture();
    f.outbox.record(worker("web", "Running"));
    flushStatus(f.ctx, false);
    f.takeUp();
    handleStatusAck(f.ctx, 99);
    expect(f.outbox.depth()).toBe(1);
    expect(f.takeUp()).toEqual([]);
  });

  test("while disconnected, the ack is applied but nothing is flushed", () => {
    const f = edgeFixture();
    f.outbox.record(worker("web", "Starting"));
    flushStatus(f.ctx, false);
    f.takeUp();
    f.outbox.record(worker("web", "Running"));
    f.connected.ready = false;
    handleStatusAck(f.ctx, 1);
    expect(f.sent).toEqual([]);
    expect(f.outbox.unsent()).toBe(1);
  });

  test("a lost ack (a sack goes at QoS 0) is healed by the next heartbeat: a full one, then the rows again", () => {
    const f = edgeFixture();
    f.state.beats = true;
    f.outbox.record(worker("web", "Running"));
    flushStatus(f.ctx, false);
    expect(carried(f.takeUp())).toEqual([{ seq: 1, workers: ["web:Running"] }]);
    // The sack of seq 1 never arrives. The next heartbeat is no beat: the outbox is not empty.
    sendHeartbeat(f.ctx);
    const up = f.takeUp();
    expect(up.map((m) => m.type)).toEqual(["heartbeat", "status"]);
    expect(up[0]).toMatchObject({ outboxDepth: 1 });
    expect(carried(up.slice(1))).toEqual([{ seq: 2, workers: ["web:Running"] }]);
    // This time the ack arrives: the outbox is empty and the heartbeat after is a beat again.
    handleStatusAck(f.ctx, 2);
    expect(f.outbox.depth()).toBe(0);
    sendHeartbeat(f.ctx);
    expect(f.takeUp().map((m) => m.type)).toEqual(["beat"]);
  });
});
