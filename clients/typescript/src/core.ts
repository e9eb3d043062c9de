// The core of the TypeScript client for the cif.v1 control plane, for any transport. The
// generated messages and service descriptors (protoc-gen-es, in ./gen) come with:
//
// - providerOver(), agentOver(), adminOver(): a Connect client for the role's service over the
//   transport a Connect function makes (gRPC over HTTP/2 in Node: ./index.ts; grpc-web in a
//   browser: ./web.ts), sending the credential with every call;
// - CifError: the status code, the server's message, and the google.rpc.ErrorInfo reason,
//   metadata and field violations;
// - Subscription: an async iterator over a stream of events that resumes by itself after a
//   disconnect (from the last sequence it saw, never yielding an event twice) and starts again
//   from a snapshot when the server can no longer resume it.

import type { DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createClient,
  type Client,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";

import { AdminService } from "./gen/cif/v1/admin_service_pb.js";
import { AgentService } from "./gen/cif/v1/agent_service_pb.js";
import type { Event, SnapshotItem, StreamMessage, WidgetDelivery } from "./gen/cif/v1/events_pb.js";
import { ProviderService } from "./gen/cif/v1/provider_service_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";

export * from "./gen/cif/v1/admin_service_pb.js";
export * from "./gen/cif/v1/agent_pb.js";
export * from "./gen/cif/v1/agent_service_pb.js";
export * from "./gen/cif/v1/desk_pb.js";
export * from "./gen/cif/v1/events_pb.js";
export * from "./gen/cif/v1/notification_pb.js";
export * from "./gen/cif/v1/presence_pb.js";
export * from "./gen/cif/v1/provider_pb.js";
export * from "./gen/cif/v1/provider_service_pb.js";
export * from "./gen/cif/v1/tab_pb.js";
export * from "./gen/cif/v1/template_pb.js";
export { Code } from "@connectrpc/connect";

/** A refused call: its gRPC code, the server's message and the machine-readable reason. */
export class CifError extends Error {
  constructor(
    readonly code: Code,
    readonly rawMessage: string,
    readonly reason: string | undefined,
    readonly metadata: Record<string, string>,
    readonly fieldViolations: { field: string; description: string }[],
  ) {
    super(`${Code[code]} (${reason ?? "no reason"}): ${rawMessage}`);
    this.name = "CifError";
  }

  /** The CifError an error from a call stands for (other errors are returned as they are). */
  static from(error: unknown): unknown {
    if (!(error instanceof ConnectError)) {
      return error;
    }
    const [info] = error.findDetails(ErrorInfoSchema);
    const fieldViolations = error
      .findDetails(BadRequestSchema)
      .flatMap((badRequest) => badRequest.fieldViolations)
      .map(({ field, description }) => ({ field, description }));
    return new CifError(error.code, error.rawMessage, info?.reason, info?.metadata ?? {}, fieldViolations);
  }
}

/**
 * Makes a transport to the server that sends `credential` with every call (see
 * `authenticating`). Called again for each stream, so a transport that holds a connection
 * gives a stream one of its own.
 */
export type Connect = (credential: string) => Transport;

/** An interceptor that sends `credential` as the call's bearer credential. */
export function authenticating(credential: string): Interceptor {
  return (next) => async (request) => {
    request.header.set("authorization", `Bearer ${credential}`);
    return await next(request);
  };
}

/** What one client has seen: the newest store commit an answer reflected. */
export interface Seen {
  stored: number;
}

/**
 * An interceptor for replicas: each answer names the store commit it reflects (header
 * `cif-stored`), and every later call asks for at least the newest one seen
 * (`cif-min-stored`), so a replica that has not applied it yet waits before it answers. A
 * client reads its own writes whichever replica answers, behind a load balancer too.
 */
export function remembering(seen: Seen): Interceptor {
  return (next) => async (request) => {
    if (seen.stored > 0) request.header.set("cif-min-stored", String(seen.stored));
    const response = await next(request);
    const stored = Number(response.header.get("cif-stored"));
    if (Number.isSafeInteger(stored) && stored > seen.stored) seen.stored = stored;
    return response;
  };
}

/** Which of several replicas a failover transport uses now; shared by the transports made
 * for one list of endpoints. */
export interface Replicas {
  current: number;
}

/**
 * A transport over several replicas of one deployment, one per endpoint: calls go to the
 * current one, and to the next once a call or stream there fails because it went away. The
 * failed call still fails (retry it, with its request_id when it changes something); a
 * Subscription resumes on the next replica by itself.
 */
export function failover(transports: Transport[], replicas: Replicas): Transport {
  // Errors that say the replica is gone or going, so the next call tries the next one.
  const GONE = new Set([Code.Unavailable, Code.Unknown, Code.Internal]);
  const failed = (at: number, error: unknown) => {
    if (at === replicas.current && GONE.has(ConnectError.from(error).code)) {
      replicas.current = (at + 1) % transports.length;
    }
  };
  async function* watched<T>(at: number, messages: AsyncIterable<T>): AsyncIterable<T> {
    try {
      yield* messages;
    } catch (error) {
      failed(at, error);
      throw error;
    }
  }
  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      const at = replicas.current;
      try {
        return await transports[at].unary(method, signal, timeoutMs, header, input, contextValues);
      } catch (error) {
        failed(at, error);
        throw error;
      }
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      const at = replicas.current;
      try {
        const response = await transports[at].stream(method, signal, timeoutMs, header, input, contextValues);
        return { ...response, message: watched(at, response.message) };
      } catch (error) {
        failed(at, error);
        throw error;
      }
    },
  };
}

/** An endpoint as a base URL: `host:port` means `http://host:port`. */
export function baseUrl(endpoint: string): string {
  return /^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`;
}

/** A client whose unary calls throw CifError. */
function client<S extends DescService>(service: S, connect: Connect, credential: string): Client<S> {
  const inner = createClient(service, connect(credential));
  return new Proxy(inner, {
    get(target, property, receiver) {
      const method: unknown = Reflect.get(target, property, receiver);
      if (typeof method !== "function") {
        return method;
      }
      return (...args: unknown[]) => {
        const result: unknown = (method as (...args: unknown[]) => unknown).apply(target, args);
        return result instanceof Promise
          ? result.catch((error: unknown) => {
              throw CifError.from(error);
            })
          : result;
      };
    },
  });
}

/** Where a stream starts. */
export interface Start {
  snapshot: boolean;
  logId: string;
  afterSequence: bigint;
}

export type ProviderClient = Client<typeof ProviderService> & {
  /** The events of the caller's sessions (on agentIds only, unless empty). */
  subscription(agentIds?: string[], snapshot?: boolean): Subscription;
};
export type AgentClient = Client<typeof AgentService> & {
  /** Every event of the caller's desk. */
  subscription(snapshot?: boolean): Subscription;
};
export type AdminClient = Client<typeof AdminService> & {
  /** Every event of every desk. */
  subscription(snapshot?: boolean): Subscription;
};

/** A channel provider's calls (cif.v1.ProviderService). */
export function providerOver(connect: Connect, credential: string): ProviderClient {
  return Object.assign(client(ProviderService, connect, credential), {
    subscription(agentIds: string[] = [], snapshot = false) {
      // A transport of its own, so unary calls never wait behind an unread stream.
      const streams = createClient(ProviderService, connect(credential));
      return new Subscription(
        (start, signal) =>
          messages(streams.subscribe({ agentIds, ...start }, { signal })),
        snapshot,
      );
    },
  });
}

/** The agent's desktop calls (cif.v1.AgentService). */
export function agentOver(connect: Connect, credential: string): AgentClient {
  return Object.assign(client(AgentService, connect, credential), {
    subscription(snapshot = false) {
      const streams = createClient(AgentService, connect(credential));
      return new Subscription((start, signal) => messages(streams.subscribe(start, { signal })), snapshot);
    },
  });
}

/** The operator's calls (cif.v1.AdminService). */
export function adminOver(connect: Connect, token: string): AdminClient {
  return Object.assign(client(AdminService, connect, token), {
    subscription(snapshot = false) {
      const streams = createClient(AdminService, connect(token));
      return new Subscription((start, signal) => messages(streams.watch(start, { signal })), snapshot);
    },
  });
}

/**
 * The three roles' clients for endpoints reached through `transport` (gRPC over HTTP/2 in
 * Node, grpc-web in browsers): `provider` (cif.v1.ProviderService), `agent` (AgentService)
 * and `admin` (AdminService), each taking an endpoint and the caller's credential.
 */
export function rolesOver(transport: (endpoint: string) => Connect) {
  return {
    provider: (endpoint: string, credential: string): ProviderClient =>
      providerOver(transport(endpoint), credential),
    agent: (endpoint: string, credential: string): AgentClient => agentOver(transport(endpoint), credential),
    admin: (endpoint: string, token: string): AdminClient => adminOver(transport(endpoint), token),
  };
}

async function* messages(responses: AsyncIterable<{ message?: StreamMessage }>) {
  for await (const response of responses) {
    if (response.message) {
      yield response.message;
    }
  }
}

/** What a subscription yields. */
export type Update =
  | { kind: "snapshot"; logId: string; sequence: bigint; items: SnapshotItem[]; resynchronized: boolean }
  | { kind: "heartbeat"; logId: string; sequence: bigint }
  /** `widgets`: on an agent's stream, the event as the providers that hear it hear it, and
   * which ones, for a desk that hosts their widgets. */
  | { kind: "event"; logId: string; sequence: bigint; event: Event; widgets?: WidgetDelivery };

const RETRY = new Set([Code.Unavailable, Code.Unknown, Code.Internal, Code.Canceled, Code.DeadlineExceeded]);
/** The stream cannot go on without a gap (OUT_OF_RANGE): start again from a snapshot. */
const RESYNCHRONIZE = new Set(["RESUME_POINT_COMPACTED", "LOG_CHANGED", "PROVIDER_READMITTED"]);

/** A stream of updates that resumes by itself: iterate it with `for await`. */
export class Subscription implements AsyncIterable<Update> {
  /** The last log position seen: resuming from here misses nothing. */
  position: { logId: string; sequence: bigint } | undefined;
  /** Told when the stream is lost and being resumed, and when it is back. */
  onStatus: ((status: "live" | "reconnecting") => void) | undefined;
  private reconnecting = false;
  private stream: AsyncIterator<StreamMessage> | undefined;
  private abort = new AbortController();
  private resynchronizing = false;
  private expectingSnapshot = false;
  private pending: SnapshotItem[] = [];
  private delay: number;

  constructor(
    private readonly open: (start: Start, signal: AbortSignal) => AsyncIterable<StreamMessage>,
    private wantsSnapshot: boolean,
    private readonly backoff = { initialMs: 100, maxMs: 5000 },
  ) {
    this.delay = backoff.initialMs;
  }

  /** Starts after a saved position (a read's or an update's logId and sequence). */
  resumingAfter(logId: string, sequence: bigint): this {
    this.position = { logId, sequence };
    return this;
  }

  /** Ends the subscription. */
  close(): void {
    this.abort.abort();
  }

  [Symbol.asyncIterator](): AsyncIterator<Update> {
    return { next: async () => ({ done: false, value: await this.next() }) };
  }

  /** The next update. */
  async next(): Promise<Update> {
    for (;;) {
      if (!this.stream) {
        const snapshot = this.resynchronizing || (!this.position && this.wantsSnapshot);
        const start: Start = snapshot || !this.position
          ? { snapshot, logId: "", afterSequence: 0n }
          : { snapshot: false, logId: this.position.logId, afterSequence: this.position.sequence };
        this.expectingSnapshot = snapshot;
        this.pending = [];
        this.stream = this.open(start, this.abort.signal)[Symbol.asyncIterator]();
      }
      let result: IteratorResult<StreamMessage>;
      try {
        result = await this.stream.next();
      } catch (error) {
        this.stream = undefined;
        const refusal = CifError.from(error);
        if (!this.abort.signal.aborted) this.status(true);
        await this.recover(refusal);
        continue;
      }
      if (result.done) {
        this.stream = undefined;
        this.status(true);
        await this.wait();
        continue;
      }
      this.status(false);
      this.delay = this.backoff.initialMs;
      const update = this.receive(result.value);
      if (update) {
        return update;
      }
    }
  }

  private receive(message: StreamMessage): Update | undefined {
    const { logId, sequence } = message;
    switch (message.kind.case) {
      case "snapshotItem":
        this.pending.push(message.kind.value);
        return undefined;
      case "heartbeat": {
        this.position = { logId, sequence };
        if (!this.expectingSnapshot) {
          return { kind: "heartbeat", logId, sequence };
        }
        // The first heartbeat completes the snapshot.
        this.expectingSnapshot = this.wantsSnapshot = false;
        const resynchronized = this.resynchronizing;
        this.resynchronizing = false;
        return { kind: "snapshot", logId, sequence, items: this.pending, resynchronized };
      }
      case "event":
        if (this.position && this.position.logId === logId && sequence <= this.position.sequence) {
          return undefined;
        }
        this.position = { logId, sequence };
        return { kind: "event", logId, sequence, event: message.kind.value, widgets: message.widgets };
      default:
        return undefined;
    }
  }

  private status(reconnecting: boolean): void {
    if (reconnecting !== this.reconnecting) {
      this.reconnecting = reconnecting;
      this.onStatus?.(reconnecting ? "reconnecting" : "live");
    }
  }

  private async recover(error: unknown): Promise<void> {
    if (!(error instanceof CifError) || this.abort.signal.aborted) {
      throw error;
    }
    if (error.code === Code.OutOfRange && RESYNCHRONIZE.has(error.reason ?? "")) {
      this.resynchronizing = true;
      this.position = undefined;
    } else if (error.code === Code.ResourceExhausted && error.reason === "SUBSCRIBER_LAGGED") {
      // Resume at once.
    } else if (RETRY.has(error.code)) {
      await this.wait();
    } else {
      throw error;
    }
  }

  private async wait(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.delay));
    this.delay = Math.min(this.delay * 2, this.backoff.maxMs);
  }
}
