// The conformance suite's TypeScript runner: plays scenarios (conformance/scenarios/*.json,
// see conformance/README.md) against a real cifd through the TypeScript client (Connect's gRPC
// transport and the generated descriptors). It calls every method by name, converting requests
// and answers with the protobuf JSON mapping, as the Rust and Python runners do.
//
//   node clients/typescript/dist/conformance/run.js PLAN.json
//
// PLAN.json lists {"scenario": path, "endpoint": url, "token": operator token}; each scenario
// prints PASS or FAIL, and the exit status is 1 if any failed.

import { readFileSync } from "node:fs";

import { fromJson, toJson, type DescMethod, type DescService, type JsonValue } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

import { AdminService, AgentService, CifError, ProviderService } from "../src/index.js";

const PATIENCE_MS = 10_000;
const SERVICES: Record<string, DescService> = { ProviderService, AgentService, AdminService };
const CODES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
  "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
  "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
];

type Json = JsonValue;
type JsonObject = { [key: string]: Json };
type Outcome = { result: Json } | { error: CifError };

class Failed extends Error {}

function subset(expected: Json, actual: Json, at: string): void {
  if (expected !== null && actual !== null && typeof expected === "object" && typeof actual === "object") {
    if (Array.isArray(expected) !== Array.isArray(actual)) {
      throw new Failed(`${at}: expected ${JSON.stringify(expected)}, found ${JSON.stringify(actual)}`);
    }
    if (Array.isArray(expected) && Array.isArray(actual)) {
      if (expected.length !== actual.length) {
        throw new Failed(`${at}: ${expected.length} items expected, ${actual.length} found: ${JSON.stringify(actual)}`);
      }
      expected.forEach((wanted, index) => subset(wanted, actual[index], `${at}[${index}]`));
      return;
    }
    const found = actual as JsonObject;
    for (const [key, value] of Object.entries(expected as JsonObject)) {
      if (!(key in found)) {
        throw new Failed(`${at}.${key}: missing in ${JSON.stringify(actual)}`);
      }
      subset(value, found[key], `${at}.${key}`);
    }
    return;
  }
  if (typeof expected === "number" && typeof actual === "string" && String(expected) === actual) {
    return;
  }
  if (expected !== actual) {
    throw new Failed(`${at}: expected ${JSON.stringify(expected)}, found ${JSON.stringify(actual)}`);
  }
}

function method(name: string): { service: DescService; method: DescMethod } {
  const [serviceName, methodName] = name.split(".");
  const service = SERVICES[serviceName];
  const found = service?.methods.find((m) => m.name === methodName);
  if (!service || !found) throw new Failed(`no method ${name}`);
  return { service, method: found };
}

const asJson = (message: Parameters<typeof toJson>[1], schema: Parameters<typeof toJson>[0]) =>
  toJson(schema, message, { useProtoFieldName: true, alwaysEmitImplicit: true });

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Failed(`${what}: no answer in time`)), PATIENCE_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

class Stream {
  /** Events that came before the catch-up heartbeat (a resume's missed events). */
  readonly early: Json[] = [];
  private readonly queue: (Json | CifError | null)[] = [];
  private wake: (() => void) | undefined;

  constructor(readonly abort: AbortController, source: AsyncIterable<unknown>, schema: DescMethod["output"]) {
    void (async () => {
      try {
        for await (const response of source) {
          this.push((asJson(response as never, schema) as JsonObject).message ?? null);
        }
        this.push(null);
      } catch (error) {
        if (!abort.signal.aborted) this.push(CifError.from(error) as CifError);
      }
    })();
  }

  private push(item: Json | CifError | null) {
    this.queue.push(item);
    this.wake?.();
  }

  /** The next message, a refusal, or null when the stream ended. */
  async first(): Promise<Json | CifError | null> {
    const deadline = Date.now() + PATIENCE_MS;
    while (this.queue.length === 0) {
      if (Date.now() > deadline) throw new Failed("no stream message in time");
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    return this.queue.shift() ?? null;
  }

  async next(): Promise<JsonObject> {
    const item = await this.first();
    if (item instanceof CifError) throw new Failed(`the stream failed: ${item.message}`);
    if (item === null || item === undefined) throw new Failed("the stream ended");
    return item as JsonObject;
  }
}

class Player {
  private readonly credentials: Record<string, string | undefined>;
  private readonly kinds: Record<string, string> = {};
  private readonly vars: JsonObject = {};
  private readonly streams: Record<string, Stream> = {};
  private readonly pending: Record<string, Promise<Outcome>> = {};

  constructor(private readonly endpoint: string, token: string) {
    this.credentials = { admin: token, nobody: undefined };
  }

  private transport(actor: string) {
    if (!(actor in this.credentials)) throw new Failed(`no actor ${actor}`);
    const credential = this.credentials[actor];
    return createGrpcTransport({
      baseUrl: this.endpoint,
      interceptors: [
        (next) => async (request) => {
          if (credential) request.header.set("authorization", `Bearer ${credential}`);
          return await next(request);
        },
      ],
    });
  }

  private async call(actor: string, name: string, request: Json): Promise<Outcome> {
    const { service, method: found } = method(name);
    const client = createClient(service, this.transport(actor)) as unknown as Record<
      string,
      (request: unknown) => Promise<unknown>
    >;
    const message = fromJson(found.input, request);
    try {
      const answer = await client[found.localName](message);
      return { result: asJson(answer as never, found.output) };
    } catch (error) {
      const converted = CifError.from(error);
      if (converted instanceof CifError) return { error: converted };
      throw error;
    }
  }

  private async admin(name: string, request: Json): Promise<JsonObject> {
    const outcome = await this.call("admin", name, request);
    if ("error" in outcome) throw new Failed(`setup ${name}: ${outcome.error.message}`);
    return outcome.result as JsonObject;
  }

  private lookup(path: string): Json {
    const [first, ...rest] = path.split(".");
    if (!(first in this.vars)) throw new Failed(`no variable ${first}`);
    let value: Json = this.vars[first];
    for (const part of rest) {
      if (Array.isArray(value) && /^\d+$/.test(part) && Number(part) < value.length) {
        value = value[Number(part)];
      } else if (value !== null && typeof value === "object" && !Array.isArray(value) && part in value) {
        value = (value as JsonObject)[part];
      } else {
        throw new Failed(`no ${part} in \${${path}}`);
      }
    }
    return value;
  }

  private substitute(value: Json): Json {
    if (typeof value === "string") {
      const whole = /^\$\{([^}$]*)\}$/.exec(value);
      if (whole) return this.lookup(whole[1]);
      return value.replace(/\$\{([^}]*)\}/g, (_, path: string) => {
        const found = this.lookup(path);
        return typeof found === "string" ? found : JSON.stringify(found);
      });
    }
    if (Array.isArray(value)) return value.map((item) => this.substitute(item));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.substitute(item)]));
    }
    return value;
  }

  async setup(actors: JsonObject): Promise<void> {
    for (const [name, fields] of Object.entries((actors.providers ?? {}) as JsonObject)) {
      const provider = {
        unique_name: `conf_${name}`,
        display_name: name,
        label: name,
        channel_url: `https://${name}.example.com/widget`,
        ...(fields as JsonObject),
      };
      const created = await this.admin("AdminService.CreateProvider", { provider });
      this.credentials[name] = created.credential as string;
      this.kinds[name] = "provider";
      this.vars[name] = created.provider;
    }
    for (const [name, spec] of Object.entries((actors.agents ?? {}) as JsonObject)) {
      const { providers = [], limits } = spec as { providers?: string[]; limits?: Json };
      const agent: JsonObject = {
        display_name: name,
        provider_ids: providers.map((provider) => (this.vars[provider] as JsonObject).id),
      };
      if (limits !== undefined) agent.limits = limits;
      const created = await this.admin("AdminService.CreateAgent", { agent });
      const record = created.agent as JsonObject;
      const desk = await this.admin("AdminService.GetDesk", { agent_id: record.id });
      record.home = ((desk.desk as JsonObject).home_session as JsonObject).id;
      this.credentials[name] = created.credential as string;
      this.kinds[name] = "agent";
      this.vars[name] = record;
    }
  }

  private check(outcome: Outcome, step: JsonObject): void {
    const expect = this.substitute((step.expect ?? {}) as Json) as JsonObject;
    const code = (expect.code as string | undefined) ?? "OK";
    if ("result" in outcome) {
      if (code !== "OK") throw new Failed(`expected ${code}, the call succeeded: ${JSON.stringify(outcome.result)}`);
      if ("result" in expect) subset(expect.result, outcome.result, "result");
      if (typeof step.save === "string") this.vars[step.save] = outcome.result;
      return;
    }
    const error = outcome.error;
    const got = {
      code: CODES[error.code],
      reason: error.reason ?? "",
      field: error.fieldViolations[0]?.field ?? "",
      message: error.rawMessage,
    };
    if (got.code !== code) throw new Failed(`expected ${code}, got ${JSON.stringify(got)}`);
    for (const key of ["reason", "field"] as const) {
      if (key in expect && expect[key] !== got[key]) {
        throw new Failed(`expected ${key} ${String(expect[key])}, got ${JSON.stringify(got)}`);
      }
    }
    if (typeof expect.message_contains === "string" && !got.message.includes(expect.message_contains)) {
      throw new Failed(`the message lacks ${JSON.stringify(expect.message_contains)}: ${JSON.stringify(got)}`);
    }
  }

  async step(step: JsonObject): Promise<void> {
    const actor = (step.as as string | undefined) ?? "admin";
    if (typeof step.call === "string") {
      const calling = this.call(actor, step.call, this.substitute(step.request ?? {}));
      if (typeof step.async === "string") {
        let answered = false;
        this.pending[step.async] = calling.finally(() => {
          answered = true;
        });
        if (step.call === "ProviderService.NotifyEvent") {
          await this.untilToastPending(this.substitute(step.request ?? {}) as JsonObject, () => answered);
        }
        return;
      }
      this.check(await withTimeout(calling, step.call), step);
    } else if (typeof step.await === "string") {
      const pending = this.pending[step.await];
      delete this.pending[step.await];
      this.check(await withTimeout(pending, step.await), step);
    } else if (typeof step.subscribe === "string") {
      const kind = this.kinds[actor];
      const name = kind === "provider" ? "ProviderService.Subscribe" : kind === "agent" ? "AgentService.Subscribe" : "AdminService.Watch";
      const { service, method: found } = method(name);
      const client = createClient(service, this.transport(actor)) as unknown as Record<
        string,
        (request: unknown, options: { signal: AbortSignal }) => AsyncIterable<unknown>
      >;
      const abort = new AbortController();
      const source = client[found.localName](fromJson(found.input, this.substitute(step.request ?? {})), { signal: abort.signal });
      const stream = new Stream(abort, source, found.output);
      this.streams[step.subscribe] = stream;
      const expected = (step.expect ?? {}) as JsonObject;
      if (expected.code !== undefined && expected.code !== "OK") {
        // The stream must be refused, when opened or as its first message.
        const first = await stream.first();
        if (!(first instanceof CifError)) throw new Failed(`the stream opened: ${JSON.stringify(first)}`);
        this.check({ error: first }, step);
        return;
      }
      const items: Json[] = [];
      for (;;) {
        const message = await stream.next();
        if ("heartbeat" in message) break;
        if ("snapshot_item" in message) items.push(message.snapshot_item);
        if ("event" in message) stream.early.push(message.event);
      }
      if ("expect_snapshot" in step) subset(this.substitute(step.expect_snapshot), items, "snapshot");
    } else if (typeof step.events === "string") {
      const stream = this.streams[step.events];
      if (!stream) throw new Failed(`no stream ${step.events}`);
      const expected = this.substitute(step.expect) as Json[];
      for (const [index, wanted] of expected.entries()) {
        let event = stream.early.shift();
        while (event === undefined) {
          const message = await stream.next();
          if ("event" in message) event = message.event;
        }
        subset(wanted, event, `${step.events} event ${index}`);
      }
    } else if (typeof step.stream_ends === "string") {
      const name = step.stream_ends;
      const stream = this.streams[name];
      if (!stream) throw new Failed(`no stream ${name}`);
      delete this.streams[name];
      if (stream.early.length > 0) throw new Failed(`${name} carried an event before it ended: ${JSON.stringify(stream.early[0])}`);
      for (;;) {
        const item = await stream.first();
        if (item instanceof CifError) {
          this.check({ error: item }, step);
          break;
        }
        if (item === null) throw new Failed(`${name} ended without a status`);
        if ("event" in (item as JsonObject)) {
          throw new Failed(`${name} carried an event before it ended: ${JSON.stringify((item as JsonObject).event)}`);
        }
      }
    } else if (typeof step.close_stream === "string") {
      this.streams[step.close_stream]?.abort.abort();
      delete this.streams[step.close_stream];
    } else {
      throw new Failed(`a step of no known kind: ${JSON.stringify(step)}`);
    }
  }

  /**
   * Waits until the server holds the toast an async NotifyEvent raised (pending on the desk),
   * or the call has answered (a toast can end at once), so the next step finds it.
   */
  private async untilToastPending(request: JsonObject, answered: () => boolean): Promise<void> {
    const deadline = Date.now() + PATIENCE_MS;
    for (;;) {
      const desk = await this.admin("AdminService.GetDesk", { agent_id: request.agent_id });
      const toasts = (desk.desk as JsonObject).notifications as JsonObject[];
      if (answered() || toasts.some((toast) => toast.notification_id === request.notification_id)) return;
      if (Date.now() > deadline) throw new Failed(`toast ${String(request.notification_id)} is not pending in time`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  close(): void {
    for (const stream of Object.values(this.streams)) stream.abort.abort();
  }
}

function describe(step: JsonObject): string {
  for (const key of ["call", "await", "subscribe", "events", "stream_ends", "close_stream"]) {
    if (typeof step[key] === "string") return `${key} ${step[key]} as ${String(step.as ?? "admin")}`;
  }
  return JSON.stringify(step);
}

async function play(scenario: JsonObject, endpoint: string, token: string): Promise<void> {
  const player = new Player(endpoint, token);
  try {
    await player.setup((scenario.actors ?? {}) as JsonObject);
    for (const [index, step] of (scenario.steps as JsonObject[]).entries()) {
      try {
        await player.step(step);
      } catch (error) {
        if (error instanceof Failed) throw new Failed(`step ${index + 1} (${describe(step)}): ${error.message}`);
        throw error;
      }
    }
  } finally {
    player.close();
  }
}

const plan = JSON.parse(readFileSync(process.argv[2], "utf8")) as { scenario: string; endpoint: string; token: string }[];
let failed = 0;
for (const entry of plan) {
  const scenario = JSON.parse(readFileSync(entry.scenario, "utf8")) as JsonObject;
  try {
    await play(scenario, entry.endpoint, entry.token);
    console.log(`PASS ${entry.scenario}`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${entry.scenario}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
process.exit(failed ? 1 : 0);
