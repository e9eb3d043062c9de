"""The conformance suite's Python runner: plays scenarios (conformance/scenarios/*.json, see
conformance/README.md) against a real cifd through the Python client (cif_client and the
generated cif.v1 modules). It calls every method by name, converting requests and answers with
the protobuf JSON mapping, as the Rust and TypeScript runners do.

    python conformance/python/run.py PLAN.json

PLAN.json lists {"scenario": path, "endpoint": url, "token": operator token}; each scenario
prints PASS or FAIL, and the exit status is 1 if any failed.
"""

from __future__ import annotations

import json
import queue
import re
import sys
import threading
import time
from typing import Any, Optional

import grpc
from google.protobuf import json_format, message_factory

from cif.v1 import admin_service_pb2, agent_service_pb2, provider_service_pb2
from cif_client import CifError, connect

PATIENCE = 10.0
SERVICES = {
    "ProviderService": provider_service_pb2,
    "AgentService": agent_service_pb2,
    "AdminService": admin_service_pb2,
}


class Failed(Exception):
    pass


def to_json(message: Any) -> Any:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def subset(expected: Any, actual: Any, at: str) -> None:
    """Whether ``actual`` has everything ``expected`` says (see the Rust runner)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key, value in expected.items():
            if key not in actual:
                raise Failed(f"{at}.{key}: missing in {json.dumps(actual)}")
            subset(value, actual[key], f"{at}.{key}")
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            raise Failed(f"{at}: {len(expected)} items expected, {len(actual)} found: {json.dumps(actual)}")
        for index, (wanted, found) in enumerate(zip(expected, actual)):
            subset(wanted, found, f"{at}[{index}]")
    elif isinstance(expected, (int, float)) and not isinstance(expected, bool) and isinstance(actual, str):
        if str(expected) != actual:
            raise Failed(f"{at}: expected {expected}, found {actual!r}")
    elif expected != actual or type(expected) is not type(actual):
        raise Failed(f"{at}: expected {json.dumps(expected)}, found {json.dumps(actual)}")


class Player:
    def __init__(self, endpoint: str, token: str) -> None:
        self.channel = connect(endpoint)
        self.credentials: dict[str, Optional[str]] = {"admin": token, "nobody": None}
        self.kinds: dict[str, str] = {}
        self.vars: dict[str, Any] = {}
        self.streams: dict[str, tuple[Any, queue.Queue]] = {}
        # Events that came before a stream's catch-up heartbeat (a resume's missed events).
        self.early: dict[str, list] = {}
        self.pending: dict[str, Any] = {}

    # --- calls

    def method(self, name: str) -> tuple[Any, Any, str]:
        service, method = name.split(".")
        module = SERVICES[service]
        descriptor = module.DESCRIPTOR.services_by_name[service].methods_by_name[method]
        request_class = message_factory.GetMessageClass(descriptor.input_type)
        path = f"/cif.v1.{service}/{method}"
        return request_class, message_factory.GetMessageClass(descriptor.output_type), path

    def metadata(self, actor: str) -> list[tuple[str, str]]:
        if actor not in self.credentials:
            raise Failed(f"no actor {actor}")
        credential = self.credentials[actor]
        return [("authorization", f"Bearer {credential}")] if credential else []

    def start_call(self, actor: str, name: str, request: Any) -> Any:
        request_class, response_class, path = self.method(name)
        callable_ = self.channel.unary_unary(
            path,
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        message = json_format.ParseDict(request, request_class())
        return callable_.future(message, metadata=self.metadata(actor), timeout=PATIENCE)

    @staticmethod
    def outcome(future: Any) -> tuple[Optional[Any], Optional[CifError]]:
        try:
            return to_json(future.result(timeout=PATIENCE)), None
        except grpc.RpcError as error:
            return None, CifError.from_rpc(error)
        except grpc.FutureTimeoutError:
            raise Failed("no answer in time") from None

    def admin(self, name: str, request: Any) -> Any:
        result, error = self.outcome(self.start_call("admin", name, request))
        if error is not None:
            raise Failed(f"setup {name}: {error}")
        return result

    # --- variables

    def lookup(self, path: str) -> Any:
        first, *rest = path.split(".")
        if first not in self.vars:
            raise Failed(f"no variable {first}")
        value = self.vars[first]
        for part in rest:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                raise Failed(f"no {part} in ${{{path}}}")
        return value

    def substitute(self, value: Any) -> Any:
        if isinstance(value, str):
            whole = re.fullmatch(r"\$\{([^}$]*)\}", value)
            if whole:
                return self.lookup(whole.group(1))
            return re.sub(
                r"\$\{([^}]*)\}",
                lambda match: (lambda found: found if isinstance(found, str) else json.dumps(found))(
                    self.lookup(match.group(1))
                ),
                value,
            )
        if isinstance(value, list):
            return [self.substitute(item) for item in value]
        if isinstance(value, dict):
            return {key: self.substitute(item) for key, item in value.items()}
        return value

    # --- setup

    def setup(self, actors: dict) -> None:
        for name, fields in actors.get("providers", {}).items():
            provider = {
                "unique_name": f"conf_{name}",
                "display_name": name,
                "label": name,
                "channel_url": f"https://{name}.example.com/widget",
                **fields,
            }
            created = self.admin("AdminService.CreateProvider", {"provider": provider})
            self.credentials[name] = created["credential"]
            self.kinds[name] = "provider"
            self.vars[name] = created["provider"]
        for name, spec in actors.get("agents", {}).items():
            agent: dict[str, Any] = {
                "display_name": name,
                "provider_ids": [self.vars[p]["id"] for p in spec.get("providers", [])],
            }
            if "limits" in spec:
                agent["limits"] = spec["limits"]
            created = self.admin("AdminService.CreateAgent", {"agent": agent})
            record = created["agent"]
            desk = self.admin("AdminService.GetDesk", {"agent_id": record["id"]})
            record["home"] = desk["desk"]["home_session"]["id"]
            self.credentials[name] = created["credential"]
            self.kinds[name] = "agent"
            self.vars[name] = record

    # --- steps

    def check(self, result: Optional[Any], error: Optional[CifError], step: dict) -> None:
        expect = self.substitute(step.get("expect", {}))
        code = expect.get("code", "OK")
        if error is None:
            if code != "OK":
                raise Failed(f"expected {code}, the call succeeded: {json.dumps(result)}")
            if "result" in expect:
                subset(expect["result"], result, "result")
            if "save" in step:
                self.vars[step["save"]] = result
            return
        got = {"code": error.code.name, "reason": error.reason or "",
               "field": error.field_violations[0][0] if error.field_violations else "",
               "message": error.message}
        if got["code"] != code:
            raise Failed(f"expected {code}, got {got}")
        for key in ("reason", "field"):
            if key in expect and expect[key] != got[key]:
                raise Failed(f"expected {key} {expect[key]}, got {got}")
        if "message_contains" in expect and expect["message_contains"] not in error.message:
            raise Failed(f"the message lacks {expect['message_contains']!r}: {got}")

    def next_message(self, name: str) -> dict:
        _, messages = self.streams[name]
        try:
            item = messages.get(timeout=PATIENCE)
        except queue.Empty:
            raise Failed("no stream message in time") from None
        if isinstance(item, CifError):
            raise Failed(f"the stream failed: {item}")
        if item is None:
            raise Failed("the stream ended")
        return item

    def subscribe(self, actor: str, name: str, request: Any, step: dict) -> None:
        kind = self.kinds.get(actor)
        method = {"provider": "ProviderService.Subscribe", "agent": "AgentService.Subscribe"}.get(
            kind or "", "AdminService.Watch"
        )
        request_class, response_class, path = self.method(method)
        stream = self.channel.unary_stream(
            path,
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )(json_format.ParseDict(request, request_class()), metadata=self.metadata(actor))
        messages: queue.Queue = queue.Queue()

        def read() -> None:
            try:
                for response in stream:
                    messages.put(to_json(response.message))
                messages.put(None)
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.CANCELLED:
                    messages.put(CifError.from_rpc(error))

        threading.Thread(target=read, daemon=True).start()
        self.streams[name] = (stream, messages)
        if step.get("expect", {}).get("code", "OK") != "OK":
            # The stream must be refused, when opened or as its first message.
            try:
                first = messages.get(timeout=PATIENCE)
            except queue.Empty:
                raise Failed("no answer in time") from None
            if not isinstance(first, CifError):
                raise Failed(f"the stream opened: {first}")
            self.check(None, first, step)
            return
        items, self.early[name] = [], []
        while True:
            message = self.next_message(name)
            if "heartbeat" in message:
                break
            if "snapshot_item" in message:
                items.append(message["snapshot_item"])
            if "event" in message:
                self.early[name].append(message["event"])
        if "expect_snapshot" in step:
            subset(self.substitute(step["expect_snapshot"]), items, "snapshot")

    def step(self, step: dict) -> None:
        actor = step.get("as", "admin")
        if "call" in step:
            future = self.start_call(actor, step["call"], self.substitute(step.get("request", {})))
            if "async" in step:
                self.pending[step["async"]] = future
                if step["call"] == "ProviderService.NotifyEvent":
                    self.until_toast_pending(self.substitute(step["request"]), future)
                return
            self.check(*self.outcome(future), step)
        elif "await" in step:
            self.check(*self.outcome(self.pending.pop(step["await"])), step)
        elif "subscribe" in step:
            self.subscribe(actor, step["subscribe"], self.substitute(step.get("request", {})), step)
        elif "events" in step:
            name = step["events"]
            if name not in self.streams:
                raise Failed(f"no stream {name}")
            for index, wanted in enumerate(self.substitute(step["expect"])):
                if self.early[name]:
                    event = self.early[name].pop(0)
                else:
                    while True:
                        message = self.next_message(name)
                        if "event" in message:
                            break
                    event = message["event"]
                subset(wanted, event, f"{name} event {index}")
        elif "stream_ends" in step:
            name = step["stream_ends"]
            if name not in self.streams:
                raise Failed(f"no stream {name}")
            if self.early[name]:
                raise Failed(f"{name} carried an event before it ended: {self.early[name][0]}")
            _, messages = self.streams.pop(name)
            while True:
                try:
                    item = messages.get(timeout=PATIENCE)
                except queue.Empty:
                    raise Failed(f"{name} did not end in time") from None
                if isinstance(item, CifError):
                    self.check(None, item, step)
                    break
                if item is None:
                    raise Failed(f"{name} ended without a status")
                if "event" in item:
                    raise Failed(f"{name} carried an event before it ended: {item['event']}")
        elif "close_stream" in step:
            stream, _ = self.streams.pop(step["close_stream"])
            stream.cancel()
        else:
            raise Failed(f"a step of no known kind: {step}")

    def until_toast_pending(self, request: dict, call: Any) -> None:
        """Waits until the server holds the toast an async NotifyEvent raised (pending on the
        desk), or the call has answered (a toast can end at once), so the next step finds it."""
        deadline = time.monotonic() + PATIENCE
        while True:
            desk = self.admin("AdminService.GetDesk", {"agent_id": request["agent_id"]})
            toasts = desk["desk"]["notifications"]
            if call.done() or any(t["notification_id"] == request["notification_id"] for t in toasts):
                return
            if time.monotonic() > deadline:
                raise Failed(f"toast {request['notification_id']} is not pending in time")
            time.sleep(0.02)

    def close(self) -> None:
        for stream, _ in self.streams.values():
            stream.cancel()
        self.channel.close()


def describe(step: dict) -> str:
    for key in ("call", "await", "subscribe", "events", "stream_ends", "close_stream"):
        if key in step:
            return f"{key} {step[key]} as {step.get('as', 'admin')}"
    return json.dumps(step)


def play(scenario: dict, endpoint: str, token: str) -> None:
    player = Player(endpoint, token)
    try:
        player.setup(scenario.get("actors", {}))
        for index, step in enumerate(scenario["steps"], 1):
            try:
                player.step(step)
            except Failed as why:
                raise Failed(f"step {index} ({describe(step)}): {why}") from None
    finally:
        player.close()


def main() -> int:
    with open(sys.argv[1]) as plan_file:
        plan = json.load(plan_file)
    failed = 0
    for entry in plan:
        with open(entry["scenario"]) as scenario_file:
            scenario = json.load(scenario_file)
        try:
            play(scenario, entry["endpoint"], entry["token"])
            print(f"PASS {entry['scenario']}", flush=True)
        except Failed as why:
            failed += 1
            print(f"FAIL {entry['scenario']}: {why}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
