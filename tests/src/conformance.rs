//! The conformance suite's Rust runner. Scenarios (`conformance/scenarios/*.json`, described in
//! `conformance/README.md`) are data; this runner, the Python one and the TypeScript one play
//! them against a real cifd and must agree. This one calls every method by name through
//! tonic with dynamic messages (prost-reflect), converting requests and answers with the
//! protobuf JSON mapping, as the other languages' runners do.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};
use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout_at};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Status, Streaming};

/// How long a step waits for an answer or an event.
const PATIENCE: Duration = Duration::from_secs(10);

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(cif_sdk::pb::FILE_DESCRIPTOR_SET).expect("the cif.v1 descriptors")
    })
}

/// Encodes dynamic requests and decodes answers of one message type.
struct DynamicCodec(MessageDescriptor);
struct DynamicEncoder;
struct DynamicDecoder(MessageDescriptor);

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        DynamicDecoder(self.0.clone())
    }
}

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: DynamicMessage, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(buf)
            .map_err(|error| Status::internal(error.to_string()))
    }
}

impl Decoder for DynamicDecoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<DynamicMessage>, Status> {
        DynamicMessage::decode(self.0.clone(), buf)
            .map(Some)
            .map_err(|error| Status::internal(error.to_string()))
    }
}

/// A refused call, as the scenarios describe it.
#[derive(Debug)]
struct Refusal {
    code: String,
    reason: String,
    field: String,
    message: String,
}

impl From<Status> for Refusal {
    fn from(status: Status) -> Self {
        let error = cif_sdk::Error::from(status);
        Refusal {
            code: cif_sdk::code_name(error.code()).to_owned(),
            reason: error.reason().unwrap_or_default().to_owned(),
            field: error
                .field_violations()
                .first()
                .map(|violation| violation.field.clone())
                .unwrap_or_default(),
            message: error.message().to_owned(),
        }
    }
}

type Outcome = Result<Value, Refusal>;

fn to_json(message: &DynamicMessage) -> Value {
    let options = SerializeOptions::new()
        .use_proto_field_name(true)
        .skip_default_fields(false);
    message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .expect("a message converts to JSON")
}

/// A channel to the deployment, and what its answers have shown of the store: across
/// replicas, each request asks for at least the commit the newest answer reflected (as the
/// SDKs do), so a replica that has not applied it yet waits.
#[derive(Clone)]
struct Connection {
    channel: Channel,
    seen: Arc<AtomicU64>,
}

impl Connection {
    fn ask<T>(&self, request: &mut tonic::Request<T>) {
        let seen = self.seen.load(Ordering::Relaxed);
        if seen > 0 {
            request.metadata_mut().insert("cif-min-stored", seen.into());
        }
    }

    fn saw(&self, metadata: &tonic::metadata::MetadataMap) {
        let stored = metadata
            .get("cif-stored")
            .and_then(|value| value.to_str().ok());
        if let Some(stored) = stored.and_then(|value| value.parse().ok()) {
            self.seen.fetch_max(stored, Ordering::Relaxed);
        }
    }
}

/// Calls `method` ("Service.Method") with `request` as JSON, sending `credential`.
async fn call(
    connection: Connection,
    credential: Option<String>,
    method: &str,
    request: Value,
) -> Outcome {
    let (service, name) = method.split_once('.').expect("Service.Method");
    let service = pool()
        .get_service_by_name(&format!("cif.v1.{service}"))
        .unwrap_or_else(|| panic!("no service {service}"));
    let method = service
        .methods()
        .find(|m| m.name() == name)
        .unwrap_or_else(|| panic!("no method {name}"));
    let message = DynamicMessage::deserialize(method.input(), request)
        .unwrap_or_else(|error| panic!("a request of {name}: {error}"));
    let mut request = tonic::Request::new(message);
    if let Some(credential) = credential {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {credential}")
                .parse()
                .expect("a header value"),
        );
    }
    let path = PathAndQuery::try_from(format!("/{}/{}", service.full_name(), method.name()))
        .expect("a path");
    connection.ask(&mut request);
    let mut grpc = tonic::client::Grpc::new(connection.channel.clone());
    grpc.ready()
        .await
        .map_err(|error| Status::unavailable(error.to_string()))?;
    let answer = grpc
        .unary(request, path, DynamicCodec(method.output()))
        .await
        .inspect_err(|status| connection.saw(status.metadata()))?;
    connection.saw(answer.metadata());
    Ok(to_json(answer.get_ref()))
}

/// Opens a stream of `method` for a principal.
async fn open_stream(
    connection: Connection,
    credential: Option<String>,
    method: &str,
    request: Value,
) -> Result<Streaming<DynamicMessage>, Refusal> {
    let (service, name) = method.split_once('.').expect("Service.Method");
    let service = pool()
        .get_service_by_name(&format!("cif.v1.{service}"))
        .expect("a service");
    let method = service
        .methods()
        .find(|m| m.name() == name)
        .expect("a method");
    let message = DynamicMessage::deserialize(method.input(), request).expect("a request");
    let mut request = tonic::Request::new(message);
    if let Some(credential) = credential {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {credential}")
                .parse()
                .expect("a header value"),
        );
    }
    let path = PathAndQuery::try_from(format!("/{}/{}", service.full_name(), method.name()))
        .expect("a path");
    connection.ask(&mut request);
    let mut grpc = tonic::client::Grpc::new(connection.channel.clone());
    grpc.ready()
        .await
        .map_err(|error| Status::unavailable(error.to_string()))?;
    Ok(grpc
        .server_streaming(request, path, DynamicCodec(method.output()))
        .await?
        .into_inner())
}

/// Whether `actual` has everything `expected` says (objects: every expected key; arrays: the
/// same length, element by element; a number matches its decimal string, as 64-bit integers
/// are strings in JSON).
pub fn subset(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => {
            for (key, value) in expected {
                let Some(found) = actual.get(key) else {
                    return Err(format!(
                        "{at}.{key}: missing in {}",
                        Value::Object(actual.clone())
                    ));
                };
                subset(value, found, &format!("{at}.{key}"))?;
            }
            Ok(())
        }
        (Value::Array(expected), Value::Array(actual)) => {
            if expected.len() != actual.len() {
                return Err(format!(
                    "{at}: {} items expected, {} found: {}",
                    expected.len(),
                    actual.len(),
                    Value::Array(actual.clone())
                ));
            }
            for (index, (expected, actual)) in expected.iter().zip(actual).enumerate() {
                subset(expected, actual, &format!("{at}[{index}]"))?;
            }
            Ok(())
        }
        (Value::Number(number), Value::String(text)) if number.to_string() == *text => Ok(()),
        _ if expected == actual => Ok(()),
        _ => Err(format!("{at}: expected {expected}, found {actual}")),
    }
}

/// One scenario's state while it plays.
struct Player {
    channel: Connection,
    credentials: HashMap<String, Option<String>>,
    kinds: HashMap<String, &'static str>,
    vars: Map<String, Value>,
    /// Open streams, with the events that came before their catch-up heartbeat.
    streams: HashMap<String, (Streaming<DynamicMessage>, VecDeque<Value>)>,
    pending: HashMap<String, JoinHandle<Outcome>>,
}

impl Player {
    fn lookup(&self, path: &str) -> Result<Value, String> {
        let mut parts = path.split('.');
        let first = parts.next().unwrap_or_default();
        let mut value = self
            .vars
            .get(first)
            .ok_or_else(|| format!("no variable {first}"))?;
        for part in parts {
            value = match value {
                Value::Object(map) => map.get(part),
                Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            }
            .ok_or_else(|| format!("no {part} in ${{{path}}}"))?;
        }
        Ok(value.clone())
    }

    /// Replaces `${path}` in every string of `value`.
    fn substitute(&self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(text) => {
                if let Some(path) = text.strip_prefix("${").and_then(|t| t.strip_suffix('}'))
                    && !path.contains("${")
                {
                    return self.lookup(path);
                }
                let mut out = String::new();
                let mut rest = text.as_str();
                while let Some(start) = rest.find("${") {
                    out.push_str(&rest[..start]);
                    let end = rest[start..].find('}').ok_or("an unclosed ${")? + start;
                    match self.lookup(&rest[start + 2..end])? {
                        Value::String(found) => out.push_str(&found),
                        other => out.push_str(&other.to_string()),
                    }
                    rest = &rest[end + 1..];
                }
                out.push_str(rest);
                Value::String(out)
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.substitute(item))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.substitute(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    fn credential(&self, actor: &str) -> Result<Option<String>, String> {
        self.credentials
            .get(actor)
            .cloned()
            .ok_or_else(|| format!("no actor {actor}"))
    }

    async fn admin(&self, method: &str, request: Value) -> Result<Value, String> {
        call(
            self.channel.clone(),
            self.credential("admin")?,
            method,
            request,
        )
        .await
        .map_err(|refusal| format!("setup {method}: {refusal:?}"))
    }

    /// Creates the scenario's providers and agents.
    async fn setup(&mut self, actors: &Value) -> Result<(), String> {
        let empty = Map::new();
        let providers = actors["providers"].as_object().unwrap_or(&empty);
        for (name, fields) in providers {
            let mut provider = json!({
                "unique_name": format!("conf_{name}"),
                "display_name": name,
                "label": name,
                "channel_url": format!("https://{name}.example.com/widget"),
            });
            for (key, value) in fields.as_object().unwrap_or(&empty) {
                provider[key] = value.clone();
            }
            let created = self
                .admin(
                    "AdminService.CreateProvider",
                    json!({ "provider": provider }),
                )
                .await?;
            self.credentials.insert(
                name.clone(),
                created["credential"].as_str().map(str::to_owned),
            );
            self.kinds.insert(name.clone(), "provider");
            self.vars.insert(name.clone(), created["provider"].clone());
        }
        let agents = actors["agents"].as_object().unwrap_or(&empty);
        for (name, spec) in agents {
            let profile: Vec<Value> = spec["providers"]
                .as_array()
                .unwrap_or(&Vec::new())
                .iter()
                .map(|provider| self.vars[provider.as_str().unwrap_or_default()]["id"].clone())
                .collect();
            let mut agent = json!({ "display_name": name, "provider_ids": profile });
            if let Some(limits) = spec.get("limits") {
                agent["limits"] = limits.clone();
            }
            let created = self
                .admin("AdminService.CreateAgent", json!({ "agent": agent }))
                .await?;
            let mut record = created["agent"].clone();
            let desk = self
                .admin(
                    "AdminService.GetDesk",
                    json!({ "agent_id": record["id"].clone() }),
                )
                .await?;
            record["home"] = desk["desk"]["home_session"]["id"].clone();
            self.credentials.insert(
                name.clone(),
                created["credential"].as_str().map(str::to_owned),
            );
            self.kinds.insert(name.clone(), "agent");
            self.vars.insert(name.clone(), record);
        }
        Ok(())
    }

    fn check(&mut self, outcome: Outcome, step: &Value) -> Result<(), String> {
        let expect = self.substitute(step.get("expect").unwrap_or(&Value::Null))?;
        let code = expect["code"].as_str().unwrap_or("OK");
        match outcome {
            Ok(result) => {
                if code != "OK" {
                    return Err(format!("expected {code}, the call succeeded: {result}"));
                }
                if let Some(expected) = expect.get("result") {
                    subset(expected, &result, "result")?;
                }
                if let Some(name) = step["save"].as_str() {
                    self.vars.insert(name.to_owned(), result);
                }
                Ok(())
            }
            Err(refusal) => {
                if refusal.code != code {
                    return Err(format!("expected {code}, got {refusal:?}"));
                }
                for (key, found) in [("reason", &refusal.reason), ("field", &refusal.field)] {
                    if let Some(wanted) = expect[key].as_str()
                        && wanted != found
                    {
                        return Err(format!("expected {key} {wanted}, got {refusal:?}"));
                    }
                }
                if let Some(text) = expect["message_contains"].as_str()
                    && !refusal.message.contains(text)
                {
                    return Err(format!("the message lacks {text:?}: {refusal:?}"));
                }
                Ok(())
            }
        }
    }

    async fn step(&mut self, step: &Value) -> Result<(), String> {
        let actor = step["as"].as_str().unwrap_or("admin");
        if let Some(method) = step["call"].as_str() {
            let request = self.substitute(step.get("request").unwrap_or(&json!({})))?;
            let credential = self.credential(actor)?;
            let (channel, method_name) = (self.channel.clone(), method.to_owned());
            let sent = request.clone();
            let calling = async move { call(channel, credential, &method_name, sent).await };
            if let Some(name) = step["async"].as_str() {
                let pending = tokio::spawn(calling);
                if method == "ProviderService.NotifyEvent" {
                    self.until_toast_pending(&request, &pending).await?;
                }
                self.pending.insert(name.to_owned(), pending);
                return Ok(());
            }
            let outcome = tokio::time::timeout(PATIENCE, calling)
                .await
                .map_err(|_| format!("{method}: no answer in time"))?;
            return self.check(outcome, step);
        }
        if let Some(name) = step["await"].as_str() {
            let pending = self.pending.remove(name).ok_or(format!("no call {name}"))?;
            let outcome = tokio::time::timeout(PATIENCE, pending)
                .await
                .map_err(|_| format!("{name}: no answer in time"))?
                .map_err(|error| error.to_string())?;
            return self.check(outcome, step);
        }
        if let Some(name) = step["subscribe"].as_str() {
            let method = match self.kinds.get(actor).copied() {
                Some("provider") => "ProviderService.Subscribe",
                Some("agent") => "AgentService.Subscribe",
                _ => "AdminService.Watch",
            };
            let request = self.substitute(step.get("request").unwrap_or(&json!({})))?;
            let opened = open_stream(
                self.channel.clone(),
                self.credential(actor)?,
                method,
                request,
            )
            .await;
            if step["expect"]["code"]
                .as_str()
                .is_some_and(|code| code != "OK")
            {
                // The stream must be refused, when opened or as its first message.
                let refusal = match opened {
                    Err(refusal) => refusal,
                    Ok(mut stream) => {
                        match tokio::time::timeout(PATIENCE, stream.message()).await {
                            Ok(Err(status)) => Refusal::from(status),
                            Ok(Ok(message)) => {
                                return Err(format!("the stream opened: {message:?}"));
                            }
                            Err(_) => return Err("no answer in time".into()),
                        }
                    }
                };
                return self.check(Err(refusal), step);
            }
            let mut stream = opened.map_err(|refusal| format!("subscribe: {refusal:?}"))?;
            // Snapshot items or resumed events, up to the catch-up heartbeat.
            let (mut items, mut events) = (Vec::new(), VecDeque::new());
            let deadline = Instant::now() + PATIENCE;
            loop {
                let message = next_message(&mut stream, deadline).await?;
                if message.get("heartbeat").is_some_and(|h| !h.is_null()) {
                    break;
                }
                if let Some(item) = message.get("snapshot_item").filter(|i| !i.is_null()) {
                    items.push(item.clone());
                }
                if let Some(event) = message.get("event").filter(|e| !e.is_null()) {
                    events.push_back(event.clone());
                }
            }
            if let Some(expected) = step.get("expect_snapshot") {
                subset(
                    &self.substitute(expected)?,
                    &Value::Array(items),
                    "snapshot",
                )?;
            }
            self.streams.insert(name.to_owned(), (stream, events));
            return Ok(());
        }
        if let Some(name) = step["events"].as_str() {
            let expected = self.substitute(&step["expect"])?;
            let expected = expected.as_array().ok_or("events expect a list")?;
            let (stream, early) = self
                .streams
                .get_mut(name)
                .ok_or(format!("no stream {name}"))?;
            for (index, wanted) in expected.iter().enumerate() {
                // Heartbeats may come before it, for as long as they like: the event must come
                // in time all the same.
                let deadline = Instant::now() + PATIENCE;
                let event = match early.pop_front() {
                    Some(event) => event,
                    None => loop {
                        let message = next_message(stream, deadline).await?;
                        if let Some(event) = message.get("event").filter(|e| !e.is_null()) {
                            break event.clone();
                        }
                    },
                };
                subset(wanted, &event, &format!("{name} event {index}"))?;
            }
            return Ok(());
        }
        if let Some(name) = step["stream_ends"].as_str() {
            let (mut stream, early) = self
                .streams
                .remove(name)
                .ok_or(format!("no stream {name}"))?;
            if let Some(event) = early.front() {
                return Err(format!("{name} carried an event before it ended: {event}"));
            }
            // Heartbeats may come before the end, for as long as they like: it must come in time
            // all the same.
            let deadline = Instant::now() + PATIENCE;
            let refusal = loop {
                match timeout_at(deadline, stream.message()).await {
                    Err(_) => return Err(format!("{name} did not end in time")),
                    Ok(Err(status)) => break Refusal::from(status),
                    Ok(Ok(None)) => return Err(format!("{name} ended without a status")),
                    Ok(Ok(Some(response))) => {
                        let message = to_json(&response)["message"].clone();
                        if let Some(event) = message.get("event").filter(|e| !e.is_null()) {
                            return Err(format!(
                                "{name} carried an event before it ended: {event}"
                            ));
                        }
                    }
                }
            };
            return self.check(Err(refusal), step);
        }
        if let Some(name) = step["close_stream"].as_str() {
            self.streams.remove(name);
            return Ok(());
        }
        Err(format!("a step of no known kind: {step}"))
    }

    /// Waits until the server holds the toast an `async` NotifyEvent raised (pending on the
    /// desk), or the call has answered (a toast can end at once), so the next step finds it.
    async fn until_toast_pending(
        &self,
        request: &Value,
        call: &JoinHandle<Outcome>,
    ) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let wanted = &request["notification_id"];
        loop {
            let desk = self
                .admin(
                    "AdminService.GetDesk",
                    json!({ "agent_id": request["agent_id"] }),
                )
                .await?;
            let pending = desk["desk"]["notifications"]
                .as_array()
                .is_some_and(|toasts| toasts.iter().any(|t| t["notification_id"] == *wanted));
            if pending || call.is_finished() {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("toast {wanted} is not pending in time"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn next_message(
    stream: &mut Streaming<DynamicMessage>,
    deadline: Instant,
) -> Result<Value, String> {
    match timeout_at(deadline, stream.message()).await {
        Err(_) => Err("no stream message in time".into()),
        Ok(Err(status)) => Err(format!("the stream failed: {:?}", Refusal::from(status))),
        Ok(Ok(None)) => Err("the stream ended".into()),
        Ok(Ok(Some(response))) => {
            let response = to_json(&response);
            Ok(response["message"].clone())
        }
    }
}

/// Plays one scenario against the server at `endpoint`.
pub async fn play(scenario: &Value, endpoint: &str, operator_token: &str) -> Result<(), String> {
    // Several comma-separated endpoints are replicas of one deployment.
    let channel = if endpoint.contains(',') {
        cif_sdk::connect_any(endpoint.split(',')).await
    } else {
        cif_sdk::connect(endpoint.to_owned()).await
    }
    .map_err(|error| error.to_string())?;
    let mut player = Player {
        channel: Connection {
            channel,
            seen: Arc::default(),
        },
        credentials: HashMap::from([
            ("admin".to_owned(), Some(operator_token.to_owned())),
            ("nobody".to_owned(), None),
        ]),
        kinds: HashMap::new(),
        vars: Map::new(),
        streams: HashMap::new(),
        pending: HashMap::new(),
    };
    player.setup(&scenario["actors"]).await?;
    for (index, step) in scenario["steps"]
        .as_array()
        .ok_or("a scenario has steps")?
        .iter()
        .enumerate()
    {
        player
            .step(step)
            .await
            .map_err(|why| format!("step {} ({}): {why}", index + 1, describe(step)))?;
    }
    Ok(())
}

fn describe(step: &Value) -> String {
    for key in [
        "call",
        "await",
        "subscribe",
        "events",
        "stream_ends",
        "close_stream",
    ] {
        if let Some(value) = step[key].as_str() {
            return format!(
                "{key} {value} as {}",
                step["as"].as_str().unwrap_or("admin")
            );
        }
    }
    step.to_string()
}
