//! Filtered fan-out: many open streams (providers and agents, one each, over many
//! connections), and a steady rate of mutations whose events each reach their owner's stream
//! and their agent's. Measures the time from sending a mutation to each arrival, checks that
//! no stream receives another's event and none is lost, and reads resident memory before and
//! after the streams open (bytes per idle stream).
//!
//! Pair `n` is provider `n`, agent `n` and one session of provider `n` on agent `n`; the
//! mutation retitles a pair's session to `m<k>` (mutation `k`). The baseline gets the same
//! streams and routes each mutation's event (encoded by the load generator, byte for byte
//! the shape cifd sends) to the same two streams.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cif_sdk::{AgentClient, ProviderClient, pb};
use prost::Message;
use tokio::sync::mpsc;
use tonic::transport::Channel;

use crate::baseline::RawCodec;
use crate::mix::{Population, in_parallel};
use crate::stats::Latencies;
use crate::target::Server;

pub struct Plan {
    /// Open streams, half providers' and half agents'.
    pub streams: usize,
    /// Streams per connection.
    pub per_connection: usize,
    pub mutations_per_second: u32,
    pub length: Duration,
}

pub struct FanOut {
    pub deliveries: Latencies,
    pub expected: usize,
    /// Events a stream received about another pair's session.
    pub foreign: usize,
    pub failed_mutations: usize,
    pub idle_stream_bytes: f64,
}

/// What the baseline needs to send cifd's events: each pair's session as cifd made it.
pub struct Shape {
    log_id: String,
    sessions: Vec<pb::Session>,
    agents: Vec<String>,
}

/// One arrival: which mutation, when, and whether it was about the stream's own pair.
struct Arrival {
    mutation: usize,
    at: Instant,
    foreign: bool,
}

/// A server with every stream open, ready to measure trials on.
pub struct Opened {
    mutate: Arc<Mutator>,
    arrived: mpsc::UnboundedReceiver<Arrival>,
    idle_stream_bytes: f64,
    /// The next mutation's number: numbers go on across trials, so a late arrival of an
    /// earlier trial is never taken for one of the current trial.
    next_mutation: usize,
}

/// Opens `plan.streams` streams on `server`. cifd creates each pair's session; the baseline
/// takes cifd's (`shape`).
pub async fn open(server: &Server, plan: &Plan, shape: Option<&Shape>) -> Opened {
    let pairs = plan.streams / 2;
    let population = Population::create(server, pairs, pairs).await;
    let connections = plan.streams.div_ceil(plan.per_connection).max(1);
    let mut channels = Vec::new();
    for _ in 0..connections {
        channels.push(server.channel().await);
    }
    let (sessions, log_id) = match shape {
        Some(shape) => (shape.sessions.clone(), shape.log_id.clone()),
        None => {
            let mut creating = Vec::new();
            for (n, (provider, agent)) in population
                .providers
                .iter()
                .zip(&population.agents)
                .enumerate()
            {
                let client =
                    ProviderClient::new(channels[n % connections].clone(), &provider.credential)
                        .expect("a credential");
                let agent_id = agent.id.clone();
                creating.push(async move {
                    client
                        .create_session(crate::mix::session(agent_id))
                        .await
                        .expect("CreateSession")
                });
            }
            let created = in_parallel(creating).await;
            let log_id = created[0].log_id.clone();
            let sessions = created
                .into_iter()
                .map(|created| created.session.expect("a session"))
                .collect();
            (sessions, log_id)
        }
    };
    let sessions = Arc::new(sessions);

    let before = server.rss_bytes();
    let (arrivals, arrived) = mpsc::unbounded_channel();
    let mut opening = Vec::new();
    for n in 0..plan.streams {
        let (pair, is_agent) = (n / 2, n % 2 == 1);
        let channel = channels[n % connections].clone();
        let credential = if is_agent {
            population.agents[pair].credential.clone()
        } else {
            population.providers[pair].credential.clone()
        };
        let (arrivals, sessions) = (arrivals.clone(), sessions.clone());
        opening.push(async move {
            let own_session = sessions[pair].id.clone();
            if is_agent {
                let stream = AgentClient::new(channel, &credential)
                    .expect("a credential")
                    .generated()
                    .subscribe(pb::AgentServiceSubscribeRequest::default())
                    .await
                    .expect("an agent's stream opens")
                    .into_inner();
                tokio::spawn(deliver(
                    stream,
                    |response| response.message,
                    own_session,
                    arrivals,
                ));
            } else {
                let stream = ProviderClient::new(channel, &credential)
                    .expect("a credential")
                    .generated()
                    .subscribe(pb::SubscribeRequest::default())
                    .await
                    .expect("a provider's stream opens")
                    .into_inner();
                tokio::spawn(deliver(
                    stream,
                    |response| response.message,
                    own_session,
                    arrivals,
                ));
            }
        });
    }
    in_parallel(opening).await;
    drop(arrivals);
    // Memory settles after the last stream opened (buffers, tasks): a benchmark may wait.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_stream_bytes =
        (server.rss_bytes() as f64 - before as f64) / plan.streams.max(1) as f64;

    let senders = connections.min(16);
    let mutate = Mutator {
        providers: population
            .providers
            .iter()
            .enumerate()
            .map(|(n, provider)| {
                ProviderClient::new(channels[n % senders].clone(), &provider.credential)
                    .expect("a credential")
            })
            .collect(),
        raw: channels[..senders].to_vec(),
        route: shape.is_some(),
        shape: Shape {
            log_id,
            sessions: sessions.to_vec(),
            agents: population
                .agents
                .iter()
                .map(|agent| agent.id.clone())
                .collect(),
        },
    };
    Opened {
        mutate: Arc::new(mutate),
        arrived,
        idle_stream_bytes,
        next_mutation: 0,
    }
}

impl Opened {
    /// Each pair's session as this server has it, for the baseline to send.
    pub fn shape(&self) -> &Shape {
        &self.mutate.shape
    }

    /// One trial: `plan`'s mutations at its rate, and every arrival they cause.
    pub async fn measure(&mut self, plan: &Plan) -> FanOut {
        let mutations = (plan.mutations_per_second as f64 * plan.length.as_secs_f64()) as usize;
        let first = self.next_mutation;
        self.next_mutation += mutations;
        let sent: Arc<Vec<OnceLock<Instant>>> =
            Arc::new((0..mutations).map(|_| OnceLock::new()).collect());
        let mut ticks = tokio::time::interval(Duration::from_secs_f64(
            1.0 / f64::from(plan.mutations_per_second),
        ));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut sending = tokio::task::JoinSet::new();
        for index in 0..mutations {
            ticks.tick().await;
            let (mutate, sent) = (self.mutate.clone(), sent.clone());
            sending.spawn(async move {
                let mutation = first + index;
                let pair = mutation % mutate.providers.len();
                let _ = sent[index].set(Instant::now());
                mutate.send(pair, mutation).await
            });
        }
        let mut failed_mutations = 0;
        while let Some(done) = sending.join_next().await {
            if !done.expect("no panic") {
                failed_mutations += 1;
            }
        }
        let expected = 2 * mutations;
        let this_trial = |arrival: &Arrival| {
            arrival
                .mutation
                .checked_sub(first)
                .and_then(|index| sent.get(index))
                .and_then(OnceLock::get)
                .copied()
        };
        let (mut samples, mut foreign) = (Vec::new(), 0);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while samples.len() < expected {
            match tokio::time::timeout_at(deadline, self.arrived.recv()).await {
                Ok(Some(arrival)) => {
                    foreign += usize::from(arrival.foreign);
                    if let Some(at) = this_trial(&arrival) {
                        samples.push(arrival.at.saturating_duration_since(at));
                    }
                }
                _ => break,
            }
        }
        // Late and foreign arrivals that came in meanwhile still count as foreign.
        while let Ok(arrival) = self.arrived.try_recv() {
            foreign += usize::from(arrival.foreign);
        }
        FanOut {
            deliveries: Latencies::new(samples),
            expected,
            foreign,
            failed_mutations,
            idle_stream_bytes: self.idle_stream_bytes,
        }
    }
}

/// Turns a stream's retitle events into arrivals; any event about another session is foreign.
async fn deliver<T>(
    mut stream: tonic::Streaming<T>,
    message: fn(T) -> Option<pb::StreamMessage>,
    own_session: String,
    arrivals: mpsc::UnboundedSender<Arrival>,
) {
    use pb::event::Kind;
    while let Ok(Some(response)) = stream.message().await {
        let at = Instant::now();
        let Some(message) = message(response) else {
            continue;
        };
        let Some(pb::stream_message::Kind::Event(event)) = message.kind else {
            continue;
        };
        let Some(Kind::SessionRetitled(retitled)) = event.kind else {
            continue;
        };
        let session = retitled.session.unwrap_or_default();
        let Some(mutation) = session.title.strip_prefix('m').and_then(|k| k.parse().ok()) else {
            continue;
        };
        let arrival = Arrival {
            mutation,
            at,
            foreign: session.id != own_session,
        };
        if arrivals.send(arrival).is_err() {
            return;
        }
    }
}

/// Sends mutations: to cifd as SetSessionTitle, to the baseline as the event to route.
struct Mutator {
    providers: Vec<ProviderClient>,
    raw: Vec<Channel>,
    /// Whether the server is the baseline, which is sent the events to route.
    route: bool,
    shape: Shape,
}

impl Mutator {
    /// Whether the call succeeded.
    async fn send(&self, pair: usize, mutation: usize) -> bool {
        let title = format!("m{mutation}");
        let shape = &self.shape;
        if !self.route {
            return self.providers[pair]
                .set_session_title(pb::SetSessionTitleRequest {
                    session_id: shape.sessions[pair].id.clone(),
                    title,
                    ..Default::default()
                })
                .await
                .is_ok();
        }
        let mut session = shape.sessions[pair].clone();
        session.title = title;
        let event = pb::SubscribeResponse {
            message: Some(pb::StreamMessage {
                log_id: shape.log_id.clone(),
                sequence: mutation as u64,
                kind: Some(pb::stream_message::Kind::Event(pb::Event {
                    agent_id: shape.agents[pair].clone(),
                    time: Some(std::time::SystemTime::now().into()),
                    kind: Some(pb::event::Kind::SessionRetitled(pb::SessionRetitled {
                        session: Some(session),
                    })),
                })),
                widgets: None,
            }),
        };
        let mut request = tonic::Request::new(Bytes::from(event.encode_to_vec()));
        let route = format!("p{pair},a{pair}").parse().expect("ASCII");
        request.metadata_mut().insert("route-to", route);
        let mut client = tonic::client::Grpc::new(self.raw[pair % self.raw.len()].clone());
        if client.ready().await.is_err() {
            return false;
        }
        client
            .unary::<_, Bytes, _>(
                request,
                http::uri::PathAndQuery::from_static("/cif.v1.ProviderService/SetSessionTitle"),
                RawCodec,
            )
            .await
            .is_ok()
    }
}
