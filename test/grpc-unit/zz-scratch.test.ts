import { loadSync } from "@grpc/proto-loader";
import { it } from "vitest";
import { eventToPb, eventFromPb, actionFromPb } from "../../src/grpc/convert.js";
import { loaderOptions, protoFile } from "../../src/grpc/proto.js";
it("scratch", () => {
  const def: any = loadSync(protoFile, loaderOptions);
  console.log(Object.keys(def).slice(0, 80).join(" "));
  const svc = def.TaskHubSidecarService;
  const h = svc.GetInstanceHistory;
  const e: any = { kind: "timerCreated", eventId: 0, timestamp: 5, fireAt: 253402300799999, fireAtNanos: 999999999, name: "n", origin: { externalEvent: { name: "x" } }, router: { sourceAppID: "a", targetAppID: "b" } };
  const bytes = h.responseSerialize({ events: [eventToPb(e)] });
  const dec = h.responseDeserialize(bytes);
  console.log(JSON.stringify(dec));
  console.log(JSON.stringify(eventFromPb(dec.events[0])));
});
