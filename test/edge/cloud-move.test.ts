import { describe, expect, test } from "bun:test";
import { mqttUrlAfterCloudMove } from "../../src/edge/cloud-move.ts";

describe("the MQTT URL when the cloud moves", () => {
  test("the embedded broker follows the cloud to its new host, same scheme and port", () => {
    expect(
      mqttUrlAfterCloudMove("http://10.0.0.1:7400", "http://10.0.0.9:7400", "mqtt://10.0.0.1:1883"),
    ).toBe("mqtt://10.0.0.9:1883");
    expect(
      mqttUrlAfterCloudMove(
        "https://cloud-a.example:7400",
        "https://cloud-b.example",
        "mqtts://cloud-a.example:8883",
      ),
    ).toBe("mqtts://cloud-b.example:8883");
  });

  test("an external broker on another host stays where it is", () => {
    expect(
      mqttUrlAfterCloudMove("http://10.0.0.1:7400", "http://10.0.0.9:7400", "mqtt://broker.example:1883"),
    ).toBeUndefined();
  });

  test("nothing changes when only the cloud's port or scheme changed", () => {
    expect(
      mqttUrlAfterCloudMove("http://10.0.0.1:7400", "https://10.0.0.1:7443", "mqtt://10.0.0.1:1883"),
    ).toBeUndefined();
  });

  test("an unreadable URL changes nothing", () => {
    expect(
      mqttUrlAfterCloudMove("not a url", "http://10.0.0.9:7400", "mqtt://10.0.0.1:1883"),
    ).toBeUndefined();
    expect(mqttUrlAfterCloudMove("http://10.0.0.1:7400", "http://10.0.0.9:7400", "::")).toBeUndefined();
  });
});
