"""A chat provider, start to finish: it offers the agent a chat with a toast; on accept it opens
a chat session with a customer tab; when the agent looks elsewhere and the customer writes
again, it asks for attention; when the agent closes the session it is done.

    CIF_ENDPOINT=127.0.0.1:50051 CIF_CREDENTIAL=cifp_... CIF_AGENT_ID=... \\
        python clients/python/examples/chat_provider.py
"""

import os
import sys
import time
import uuid

from cif.v1 import notification_pb2, provider_service_pb2 as pb, tab_pb2
from cif_client import ProviderClient, connect


def main() -> int:
    endpoint = os.environ.get("CIF_ENDPOINT", "127.0.0.1:50051")
    agent_id = os.environ["CIF_AGENT_ID"]
    credential = os.environ["CIF_CREDENTIAL"]
    chat = ProviderClient(connect(endpoint), credential)
    # Events on a channel of their own, so calls never wait behind an unread stream.
    events = ProviderClient(connect(endpoint), credential).subscribe([agent_id])
    next(events)  # the catch-up heartbeat: we hear everything from now

    # Ask the agent first (CIF's good practice), with a toast that waits for an answer.
    answer = chat.notify_event(
        pb.NotifyEventRequest(
            agent_id=agent_id,
            notification_id=str(uuid.uuid4()),
            title="New chat",
            fields=[notification_pb2.NotificationField(label="Customer", value="Maria")],
            countdown_seconds=30,
        )
    ).result
    outcome = notification_pb2.NotificationOutcome.Name(answer.outcome)
    print("toast answered:", outcome.removeprefix("NOTIFICATION_OUTCOME_"), flush=True)
    if answer.outcome != notification_pb2.NOTIFICATION_OUTCOME_ACCEPTED:
        return 0

    session = chat.create_session(
        pb.CreateSessionRequest(
            agent_id=agent_id,
            title="Chat with Maria",
            context={"customerName": "Maria"},
            request_id=str(uuid.uuid4()),
        )
    ).session
    print("chat session", session.id, "opened", flush=True)
    tab = chat.create_tab(
        pb.CreateTabRequest(
            session_id=session.id,
            title="Customer",
            page=tab_pb2.TabPage(
                kind=tab_pb2.PAGE_KIND_THIRD_PARTY_WEBSITE,
                url="https://crm.example.com/customer/maria",
            ),
            focus=True,
        )
    ).tab
    print("customer tab", tab.id, "opened", flush=True)

    deadline = time.monotonic() + 60
    for update in events:
        if time.monotonic() > deadline:
            print("the chat session was not closed within 60 s", file=sys.stderr)
            return 1
        if update.kind != "event":
            continue
        kind = update.event.WhichOneof("kind")
        if kind == "session_switched":
            switched = update.event.session_switched
            if switched.session.id == session.id and not switched.focused:
                # The agent looks elsewhere and the customer writes again: flag it, don't switch.
                chat.notify_new_activity(pb.NotifyNewActivityRequest(session_id=session.id, count=1))
                asked = chat.request_focus_session(
                    pb.RequestFocusSessionRequest(session_id=session.id, messages_count=1)
                )
                print(f"asked for attention (already focused: {asked.already_focused})", flush=True)
        elif kind == "session_closed" and update.event.session_closed.session.id == session.id:
            print("the agent closed the chat session: done", flush=True)
            events.close()
            return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
