// Follows a provider's subscription through @cif/client and prints each update as one JSON
// line, so a test can watch what the client does by itself (resume, resynchronise from a
// snapshot).
//
//   CIF_CREDENTIAL=cifp_... node clients/typescript/dist/conformance/follow.js http://127.0.0.1:50051

import { provider } from "../src/index.js";

const follower = provider(process.argv[2] ?? "http://127.0.0.1:50051", process.env.CIF_CREDENTIAL ?? "");
for await (const update of follower.subscription([])) {
  const line: Record<string, unknown> = { kind: update.kind, sequence: update.sequence.toString() };
  if (update.kind === "snapshot") {
    line.resynchronized = update.resynchronized;
    line.sessions = update.items.flatMap((item) => (item.item.case === "session" ? [item.item.value.id] : []));
  }
  if (update.kind === "event") line.event = update.event.kind.case;
  console.log(JSON.stringify(line));
}
