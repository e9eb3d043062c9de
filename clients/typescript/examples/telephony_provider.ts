// A telephony provider, start to finish: it offers the agent an incoming call with a toast; on
// accept it opens a call session with a customer tab; when the agent looks elsewhere and the
// caller says more, it asks for attention; when the agent closes the session it is done.
//
//   CIF_ENDPOINT=http://127.0.0.1:50051 CIF_CREDENTIAL=cifp_... CIF_AGENT_ID=... \
//     node clients/typescript/dist/examples/telephony_provider.js

import { randomUUID } from "node:crypto";

import { NotificationOutcome, PageKind, provider } from "../src/index.js";

const endpoint = process.env.CIF_ENDPOINT ?? "http://127.0.0.1:50051";
const agentId = process.env.CIF_AGENT_ID ?? "";
const phone = provider(endpoint, process.env.CIF_CREDENTIAL ?? "");

const events = phone.subscription([agentId]);
await events.next(); // the catch-up heartbeat: we hear everything from now

// Ask the agent first (CIF's good practice), with a toast that waits for an answer.
const { result } = await phone.notifyEvent({
  agentId,
  notificationId: randomUUID(),
  title: "Incoming call",
  fields: [{ label: "Caller", value: "+1 555 0100" }],
  countdownSeconds: 30,
});
console.log(`toast answered: ${NotificationOutcome[result?.outcome ?? 0]}`);
if (result?.outcome !== NotificationOutcome.ACCEPTED) {
  process.exit(0);
}

const { session } = await phone.createSession({
  agentId,
  title: "Call from +1 555 0100",
  context: { phoneNumber: "+15550100" },
  requestId: randomUUID(),
});
const sessionId = session?.id ?? "";
console.log(`call session ${sessionId} opened`);
const { tab } = await phone.createTab({
  sessionId,
  title: "Customer",
  page: { kind: PageKind.THIRD_PARTY_WEBSITE, url: "https://crm.example.com/lookup?phone=%2B15550100" },
  focus: true,
});
console.log(`customer tab ${tab?.id} opened`);

const deadline = setTimeout(() => {
  console.error("the call session was not closed within 60 s");
  process.exit(1);
}, 60_000);
for await (const update of events) {
  if (update.kind !== "event") continue;
  const kind = update.event.kind;
  if (kind.case === "sessionSwitched" && kind.value.session?.id === sessionId && !kind.value.focused) {
    // The agent looks elsewhere and the caller keeps talking: flag it, don't switch.
    await phone.notifyNewActivity({ sessionId, count: 1 });
    const asked = await phone.requestFocusSession({ sessionId, messagesCount: 1 });
    console.log(`asked for attention (already focused: ${asked.alreadyFocused})`);
  } else if (kind.case === "sessionClosed" && kind.value.session?.id === sessionId) {
    console.log("the agent closed the call session: done");
    break;
  }
}
clearTimeout(deadline);
events.close();
process.exit(0);
