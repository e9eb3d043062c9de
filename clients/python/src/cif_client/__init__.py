"""Python client for the cif.v1 control plane.

The generated modules (``cif.v1.*_pb2`` messages, ``*_pb2_grpc`` stubs, ``.pyi`` type stubs)
come with this small layer:

- ``ProviderClient``, ``AgentClient``, ``AdminClient``: every call of the role's service as a
  snake_case method (``provider.create_session(request)``), each sending the credential;
- ``CifError``: the status code, the server's message, and the ``google.rpc.ErrorInfo``
  reason, metadata and field violations;
- ``Subscription``: an iterator over a stream of events that resumes by itself after a
  disconnect (from the last sequence it saw, never yielding an event twice) and starts again
  from a snapshot when the server can no longer resume it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Sequence

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from cif.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    agent_service_pb2,
    agent_service_pb2_grpc,
    events_pb2,
    provider_service_pb2,
    provider_service_pb2_grpc,
)

__all__ = [
    "AdminClient",
    "AgentClient",
    "CifError",
    "ProviderClient",
    "Subscription",
    "Update",
    "connect",
]


class CifError(Exception):
    """A refused call: its gRPC code, the server's message and the machine-readable reason."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        reason: Optional[str] = None,
        metadata: Optional[dict[str, str]] = None,
        field_violations: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(f"{code.name} ({reason or 'no reason'}): {message}")
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata = metadata or {}
        self.field_violations = list(field_violations)

    @classmethod
    def from_rpc(cls, error: grpc.RpcError) -> "CifError":
        reason, metadata, violations = None, {}, []
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        for detail in status.details if status is not None else ():
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, metadata = info.reason, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations = [(v.field, v.description) for v in bad.field_violations]
        return cls(error.code(), error.details() or "", reason, metadata, violations)


def connect(
    *endpoints: str,
    root_certificates: Optional[bytes] = None,
    certificate_chain: Optional[bytes] = None,
    private_key: Optional[bytes] = None,
) -> grpc.Channel:
    """A channel to ``endpoint`` (``host:port``, ``http://host:port``, or ``https://host:port``
    for a cifd serving TLS), or to several replicas of one deployment given as IP addresses
    with ports (``10.0.0.1:50051``, ``http://10.0.0.2:50051``...): calls go to the first that
    answers, and move on in order when it goes away. A call that was on a dying replica fails
    with UNAVAILABLE (retry it with its ``request_id``); a ``Subscription`` resumes on the next
    replica by itself.

    Over TLS (``https://`` endpoints, or any of the keyword arguments given) the server's
    name is checked against its certificate: ``root_certificates`` (PEM) are the CAs to trust
    (by default gRPC's, or the file ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`` names), and
    ``certificate_chain`` with ``private_key`` (PEM) a client certificate, for a cifd that asks
    for one."""
    if not endpoints:
        raise ValueError("give at least one endpoint")
    tls = any(endpoint.startswith("https://") for endpoint in endpoints) or any(
        given is not None for given in (root_certificates, certificate_chain, private_key)
    )
    addresses = [re.sub(r"^https?://", "", endpoint) for endpoint in endpoints]

    def channel(target: str, options: list[tuple[str, Any]]) -> grpc.Channel:
        if not tls:
            return grpc.insecure_channel(target, options=options)
        credentials = grpc.ssl_channel_credentials(
            root_certificates=root_certificates,
            private_key=private_key,
            certificate_chain=certificate_chain,
        )
        return grpc.secure_channel(target, credentials, options=options)

    if len(addresses) == 1:
        return channel(addresses[0], [])
    ipv6 = [address.startswith("[") for address in addresses]
    if any(ipv6) and not all(ipv6):
        raise ValueError("give the replicas all as IPv4 or all as IPv6 addresses")
    scheme = "ipv6" if all(ipv6) else "ipv4"
    # pick_first over the list: the first address that connects, the next when it fails. The
    # authority would otherwise be the whole list, which is no host name.
    return channel(
        f"{scheme}:{','.join(addresses)}",
        [
            ("grpc.lb_policy_name", "pick_first"),
            ("grpc.default_authority", addresses[0]),
        ],
    )


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


class _Client:
    """Sends the credential with every call and, across replicas, what the client has seen:
    each answer names the store commit it reflects (header ``cif-stored``), and every later
    call asks for at least that one (``cif-min-stored``), so a replica that has not applied it
    yet waits before it answers. The client reads its own writes whichever replica answers."""

    _stub_class: Callable[[grpc.Channel], Any]

    def __init__(self, channel: grpc.Channel, credential: str) -> None:
        self.stub = self._stub_class(channel)
        self._credential = ("authorization", f"Bearer {credential}")
        self._seen = 0

    @property
    def _metadata(self) -> tuple[tuple[str, str], ...]:
        if self._seen:
            return (self._credential, ("cif-min-stored", str(self._seen)))
        return (self._credential,)

    def _saw(self, call: Any) -> None:
        for key, value in call.initial_metadata() or ():
            if key == "cif-stored" and str(value).isdigit():
                self._seen = max(self._seen, int(value))

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.stub, _camel(name))

        def call(request: Any, timeout: Optional[float] = None) -> Any:
            try:
                response, answered = method.with_call(
                    request, metadata=self._metadata, timeout=timeout
                )
            except grpc.RpcError as error:
                raise CifError.from_rpc(error) from None
            self._saw(answered)
            return response

        call.__name__ = name
        return call

    def _subscription(self, method: str, request: Callable[..., Any], snapshot: bool) -> "Subscription":
        stream = getattr(self.stub, method)

        def open_stream(snapshot: bool, log_id: str, after: int) -> Iterator[Any]:
            return stream(
                request(snapshot=snapshot, log_id=log_id, after_sequence=after),
                metadata=self._metadata,
            )

        return Subscription(open_stream, snapshot)


class ProviderClient(_Client):
    """A channel provider's calls (``cif.v1.ProviderService``)."""

    _stub_class = provider_service_pb2_grpc.ProviderServiceStub

    def subscribe(self, agent_ids: Sequence[str] = (), snapshot: bool = False) -> "Subscription":
        """The events of the caller's sessions (on ``agent_ids`` only, unless empty)."""

        def request(**start: Any) -> Any:
            return provider_service_pb2.SubscribeRequest(agent_ids=list(agent_ids), **start)

        return self._subscription("Subscribe", request, snapshot)


class AgentClient(_Client):
    """The agent's desktop calls (``cif.v1.AgentService``)."""

    _stub_class = agent_service_pb2_grpc.AgentServiceStub

    def subscribe(self, snapshot: bool = False) -> "Subscription":
        """Every event of the caller's desk."""
        return self._subscription(
            "Subscribe", agent_service_pb2.AgentServiceSubscribeRequest, snapshot
        )


class AdminClient(_Client):
    """The operator's calls (``cif.v1.AdminService``)."""

    _stub_class = admin_service_pb2_grpc.AdminServiceStub

    def watch(self, snapshot: bool = False) -> "Subscription":
        """Every event of every desk."""
        return self._subscription("Watch", admin_service_pb2.WatchRequest, snapshot)


@dataclass
class Update:
    """What a subscription yields: ``kind`` is ``"snapshot"``, ``"heartbeat"`` or ``"event"``."""

    kind: str
    log_id: str
    sequence: int
    event: Optional[events_pb2.Event] = None
    items: list[events_pb2.SnapshotItem] = field(default_factory=list)
    resynchronized: bool = False


# The stream cannot go on without a gap (OUT_OF_RANGE): start again from a snapshot.
_RESYNCHRONIZE = ("RESUME_POINT_COMPACTED", "LOG_CHANGED", "PROVIDER_READMITTED")

_RETRY = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
}


class Subscription:
    """A stream of updates that resumes by itself. Iterate it; it reconnects while you do."""

    def __init__(
        self,
        open_stream: Callable[[bool, str, int], Iterator[Any]],
        snapshot: bool,
        backoff: tuple[float, float] = (0.1, 5.0),
    ) -> None:
        self._open = open_stream
        self._stream: Optional[Any] = None
        self.position: Optional[tuple[str, int]] = None
        self._wants_snapshot = snapshot
        self._resynchronizing = False
        self._expecting_snapshot = False
        self._pending: list[events_pb2.SnapshotItem] = []
        self._backoff = backoff
        self._delay = backoff[0]

    def resuming_after(self, log_id: str, sequence: int) -> "Subscription":
        """Starts after a saved position (a read's or an update's log_id and sequence)."""
        self.position = (log_id, sequence)
        return self

    def __iter__(self) -> "Subscription":
        return self

    def close(self) -> None:
        if self._stream is not None:
            self._stream.cancel()
            self._stream = None

    def __next__(self) -> Update:
        while True:
            if self._stream is None:
                if self._resynchronizing or (self.position is None and self._wants_snapshot):
                    snapshot, log_id, after = True, "", 0
                elif self.position is not None:
                    snapshot, (log_id, after) = False, self.position
                else:
                    snapshot, log_id, after = False, "", 0
                self._expecting_snapshot, self._pending = snapshot, []
                self._stream = self._open(snapshot, log_id, after)
            try:
                response = next(self._stream)
            except StopIteration:
                self._stream = None
                self._wait()
                continue
            except grpc.RpcError as error:
                self._stream = None
                self._recover(CifError.from_rpc(error))
                continue
            self._delay = self._backoff[0]
            update = self._receive(response.message)
            if update is not None:
                return update

    def _receive(self, message: events_pb2.StreamMessage) -> Optional[Update]:
        kind = message.WhichOneof("kind")
        if kind == "snapshot_item":
            self._pending.append(message.snapshot_item)
            return None
        if kind == "heartbeat":
            self.position = (message.log_id, message.sequence)
            if not self._expecting_snapshot:
                return Update("heartbeat", message.log_id, message.sequence)
            # The first heartbeat completes the snapshot.
            self._expecting_snapshot = self._wants_snapshot = False
            resynchronized, self._resynchronizing = self._resynchronizing, False
            items, self._pending = self._pending, []
            return Update("snapshot", message.log_id, message.sequence, items=items,
                          resynchronized=resynchronized)
        if kind == "event":
            if self.position is not None and self.position[0] == message.log_id \
                    and message.sequence <= self.position[1]:
                return None
            self.position = (message.log_id, message.sequence)
            return Update("event", message.log_id, message.sequence, event=message.event)
        return None

    def _recover(self, error: CifError) -> None:
        if error.code == grpc.StatusCode.OUT_OF_RANGE and error.reason in _RESYNCHRONIZE:
            self._resynchronizing, self.position = True, None
        elif error.code == grpc.StatusCode.RESOURCE_EXHAUSTED and error.reason == "SUBSCRIBER_LAGGED":
            pass
        elif error.code in _RETRY:
            self._wait()
        else:
            raise error

    def _wait(self) -> None:
        time.sleep(self._delay)
        self._delay = min(self._delay * 2, self._backoff[1])
