//! One well-behaved provider runs the unary mix alone, then beside a hostile client that, from
//! other loopback addresses (127.0.0.2 and up, so the limits per address never meet the good
//! client), floods calls without a credential, holds connections and streams up to every
//! limit and reads nothing, sends oversized headers and drips HTTP/1.1 request heads. Trials
//! alternate quiet and attacked; the figure is the good client's p99 attacked against quiet
//! in the same trial, and it must never be refused.
//!
//! Everything here is bounded in count and time and stops with the trial.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cif_sdk::{ProviderClient, pb};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::mix::{self, MixRun, Population};
use crate::target::{Placement, Server, cifd_options};

/// The sizes of the attack and of the good client's load.
pub struct Plan {
    /// The good provider's calls in flight.
    pub in_flight: usize,
    pub length: Duration,
    pub trials: usize,
    /// Callers without a credential, each with one call in flight at a time.
    pub flooders: usize,
    /// Idle connections held from one address (more than it may hold: the rest are refused).
    pub idle_connections: usize,
    /// HTTP/1.1 connections dripping their request head a line a second.
    pub drips: usize,
}

/// What the hostile client did over all attacked trials.
#[derive(Default)]
pub struct Attack {
    /// Calls without a credential answered (health) and refused (each reason).
    pub flood_answered: AtomicU64,
    pub flood_refused: AtomicU64,
    /// Streams a hostile provider holds open unread, and the ones past its limit refused.
    pub streams_held: AtomicU64,
    pub streams_refused: AtomicU64,
    /// Idle connections opened, and those closed by the server (at once past the limit, or
    /// for sending no request).
    pub connections_opened: AtomicU64,
    pub connections_closed: AtomicU64,
    /// Calls with 32 KiB of headers, all refused.
    pub oversized_refused: AtomicU64,
    /// Dripped request heads the server dropped.
    pub drips_dropped: AtomicU64,
}

pub struct Measured {
    pub quiet: Vec<MixRun>,
    pub attacked: Vec<MixRun>,
    pub attack: Arc<Attack>,
    pub attacked_seconds: f64,
}

/// A channel from loopback address `from`.
async fn channel_from(server: &str, from: IpAddr) -> Channel {
    Endpoint::from_shared(server.to_owned())
        .expect("an endpoint")
        .local_address(Some(from))
        .connect()
        .await
        .expect("connects")
}

async fn tcp_from(server: SocketAddr, from: IpAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(server).await
}

fn address(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

pub async fn run(placement: &Placement, plan: &Plan) -> Measured {
    let server = Server::cifd(placement, cifd_options()).await;
    let endpoint = server.endpoint();
    let population = Population::create(&server, 4, plan.in_flight).await;
    let workers = mix::workers(&server, &population, plan.in_flight).await;
    let hostile = Population::create(&server, 1, 0).await.providers[0].clone();
    let attack = Arc::new(Attack::default());
    let (mut quiet, mut attacked) = (Vec::new(), Vec::new());
    for _ in 0..plan.trials {
        let (run, _) = mix::trial("quiet", &server, &workers, plan.length).await;
        quiet.push(run);
        let mut attackers = start_attack(&endpoint, &hostile.credential, plan, &attack).await;
        // Let the attack reach its limits before measuring.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (run, _) = mix::trial("attacked", &server, &workers, plan.length).await;
        attacked.push(run);
        attackers.abort_all();
        while attackers.join_next().await.is_some() {}
    }
    Measured {
        quiet,
        attacked,
        attack,
        attacked_seconds: (plan.length + Duration::from_secs(1)).as_secs_f64() * plan.trials as f64,
    }
}

async fn start_attack(
    endpoint: &str,
    hostile_credential: &str,
    plan: &Plan,
    attack: &Arc<Attack>,
) -> JoinSet<()> {
    let server: SocketAddr = endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("an address");
    let mut attackers = JoinSet::new();

    // Calls without a credential, as fast as they are answered.
    let flooding = channel_from(endpoint, address(2)).await;
    for n in 0..plan.flooders {
        let (channel, attack) = (flooding.clone(), attack.clone());
        attackers.spawn(async move {
            let mut health = HealthClient::new(channel.clone());
            let guesser = ProviderClient::new(channel, "cifp_guessed-0123456789abcdef")
                .expect("a credential's shape");
            loop {
                let answered = if n % 2 == 0 {
                    health.check(HealthCheckRequest::default()).await.is_ok()
                } else {
                    guesser.list_sessions(Default::default()).await.is_ok()
                };
                let counter = if answered {
                    &attack.flood_answered
                } else {
                    &attack.flood_refused
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
    }

    // A provider of its own holding every stream it may, and more, reading none.
    let streaming = channel_from(endpoint, address(3)).await;
    let streamer =
        ProviderClient::new(streaming, hostile_credential).expect("the hostile provider");
    {
        let attack = attack.clone();
        attackers.spawn(async move {
            let mut held = Vec::new();
            loop {
                match streamer
                    .generated()
                    .subscribe(pb::SubscribeRequest::default())
                    .await
                {
                    Ok(stream) => {
                        held.push(stream);
                        attack.streams_held.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        attack.streams_refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
    }

    // Idle connections: opened until refused, each sending nothing.
    for _ in 0..plan.idle_connections {
        let attack = attack.clone();
        attackers.spawn(async move {
            loop {
                let Ok(mut idle) = tcp_from(server, address(4)).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                attack.connections_opened.fetch_add(1, Ordering::Relaxed);
                let mut buffer = [0u8; 64];
                // Returns when the server closes it.
                let _ = tokio::io::AsyncReadExt::read(&mut idle, &mut buffer).await;
                attack.connections_closed.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }

    // Oversized headers.
    let oversized = channel_from(endpoint, address(5)).await;
    {
        let attack = attack.clone();
        attackers.spawn(async move {
            let mut raw = pb::provider_service_client::ProviderServiceClient::new(oversized);
            let padding: tonic::metadata::MetadataValue<_> =
                "x".repeat(32 * 1024).parse().expect("ASCII");
            loop {
                let mut request = tonic::Request::new(pb::ListSessionsRequest::default());
                request.metadata_mut().insert("x-padding", padding.clone());
                if raw.list_sessions(request).await.is_err() {
                    attack.oversized_refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }

    // HTTP/1.1 request heads dripped a line a second.
    for _ in 0..plan.drips {
        let attack = attack.clone();
        attackers.spawn(async move {
            loop {
                let Ok(mut dripping) = tcp_from(server, address(6)).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let mut line = b"POST /cif.v1.ProviderService/ListSessions HTTP/1.1\r\n".to_vec();
                while dripping.write_all(&line).await.is_ok() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    line = b"x-drip: 1\r\n".to_vec();
                }
                attack.drips_dropped.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    attackers
}
