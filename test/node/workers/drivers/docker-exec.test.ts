import { describe, expect, test } from "bun:test";
import { ByteQueue, parseStartHead } from "../../../../src/node/workers/drivers/docker-exec.ts";

const bytes = (text: string) => new Uint8Array(Buffer.from(text, "latin1"));

describe("docker exec's hijacked stream", () => {
  test("the start answer's head is split from the stream bytes that follow it", () => {
    const answer = bytes(
      "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n\x01\x00\x00\x00",
    );
    const parsed = parseStartHead(answer);
    expect(parsed !== "more" && "status" in parsed && parsed.status).toBe(101);
    expect(parsed !== "more" && "rest" in parsed && [...parsed.rest]).toEqual([1, 0, 0, 0]);
    expect(parseStartHead(bytes("HTTP/1.1 101 UPGR"))).toBe("more");
    expect(parseStartHead(bytes("SSH-2.0\r\n\r\n"))).toEqual({ error: "not an HTTP answer: SSH-2.0" });
    expect(parseStartHead(new Uint8Array(17 * 1024))).toEqual({
      error: "Docker's answer has no end of head",
    });
    const refused = parseStartHead(bytes("HTTP/1.1 409 Conflict\r\n\r\n"));
    expect(refused !== "more" && "status" in refused && refused.status).toBe(409);
  });

  test("the byte queue yields what was pushed, in order, and ends (or fails) when told", async () => {
    const queue = new ByteQueue();
    queue.push(bytes("a"));
    queue.push(new Uint8Array(0));
    setTimeout(() => {
      queue.push(bytes("b"));
      queue.end();
      queue.push(bytes("after the end"));
    }, 5);
    const seen: string[] = [];
    for await (const chunk of queue) seen.push(Buffer.from(chunk).toString());
    expect(seen).toEqual(["a", "b"]);
    const failing = new ByteQueue();
    failing.end(new Error("broken"));
    const drain = async () => {
      for await (const _ of failing) {
        // nothing
      }
    };
    await expect(drain()).rejects.toThrow("broken");
  });
});
