//! Soak: a mixed load on a durable cifd for a given time, restarting the server now and then,
//! with the server's resident memory, open files, runtime tasks and open streams, and the
//! unary mix's p99, sampled at every interval. Over a long run each must stay flat: what
//! grows is a leak.
//!
//! The load: providers and agents running the unary mix; streams that connect, read for a
//! while (or, one in four, read nothing and fall behind) and leave; desks renewing their
//! widgets' credentials; toasts raised by providers and accepted or declined by the agents at
//! their desks. Everything is bounded and stops with the run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cif_e2e::{DataDir, Options, Stop, restart};
use cif_sdk::{AgentClient, ProviderClient, pb};
use tokio::task::JoinSet;

use crate::mix::{self, Population};
use crate::target::{Placement, Server, cifd_options, metric};

pub struct Plan {
    /// How long the whole run lasts.
    pub length: Duration,
    /// How often a sample is taken (the mix runs in between).
    pub interval: Duration,
    /// Restart the server after this many intervals (0: never).
    pub restart_every: usize,
    /// The unary mix's calls in flight.
    pub in_flight: usize,
    /// Streams connecting and leaving at once.
    pub churning_streams: usize,
}

/// One interval's figures.
pub struct Sample {
    /// Since the run started.
    pub at: Duration,
    /// Which server life (it counts restarts).
    pub life: usize,
    pub calls_per_second: f64,
    pub p99: Duration,
    pub failed_calls: usize,
    pub rss_bytes: u64,
    pub open_files: u64,
    pub tasks: u64,
    pub open_streams: u64,
    /// Streams opened and closed by the churn over the interval.
    pub streams_churned: u64,
    /// Toasts the agents answered over the interval.
    pub toasts_answered: u64,
}

impl Sample {
    /// A row of the soak's printed table, read back (to plot a run printed before).
    pub fn from_row(row: &str) -> Option<Sample> {
        let cells: Vec<&str> = row
            .trim()
            .strip_prefix('|')?
            .strip_suffix('|')?
            .split('|')
            .map(str::trim)
            .collect();
        let [
            at,
            life,
            calls,
            p99,
            failed,
            rss,
            files,
            tasks,
            streams,
            churned,
            toasts,
        ] = cells[..]
        else {
            return None;
        };
        Some(Sample {
            at: Duration::from_secs_f64(at.parse().ok()?),
            life: life.parse().ok()?,
            calls_per_second: calls.parse().ok()?,
            p99: Duration::from_secs_f64(p99.strip_suffix(" ms")?.parse::<f64>().ok()? / 1000.0),
            failed_calls: failed.parse().ok()?,
            rss_bytes: (rss.parse::<f64>().ok()? * 1_048_576.0) as u64,
            open_files: files.parse().ok()?,
            tasks: tasks.parse().ok()?,
            open_streams: streams.parse().ok()?,
            streams_churned: churned.parse().ok()?,
            toasts_answered: toasts.parse().ok()?,
        })
    }
}

/// The files process `pid` holds open.
fn open_files(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |entries| entries.count() as u64)
}

pub async fn run(placement: &Placement, plan: &Plan) -> Vec<Sample> {
    let data_dir = DataDir::new();
    let options = || Options {
        data_dir: Some(data_dir.path().to_owned()),
        ..cifd_options()
    };
    let mut server = Server::cifd(placement, options()).await;
    let population = Population::create(&server, 4, plan.in_flight).await;
    let admin = server.admin().expect("cifd").clone();
    // Every agent serves every provider: desks have widgets to renew.
    let workers = mix::workers(&server, &population, plan.in_flight).await;
    let counts = Counts::default();
    let mut churn = start_churn(&server, &population, plan, &counts).await;
    start_toasts(&server, &population, &counts, &mut churn).await;

    let started = Instant::now();
    let (mut samples, mut life) = (Vec::new(), 0);
    while started.elapsed() < plan.length {
        let before = counts.taken();
        // Calls failing around a restart count as failed, not as a broken run.
        let run = mix::run(&server, &workers, plan.interval).await;
        let metrics = server.writer_metrics();
        let pid = server.cifd_process().expect("cifd").pid();
        samples.push(Sample {
            at: started.elapsed(),
            life,
            calls_per_second: run.per_second(),
            p99: run.latencies.quantile(0.99),
            failed_calls: run.errors,
            rss_bytes: server.rss_bytes(),
            open_files: open_files(pid),
            tasks: metric(&metrics, "cif_runtime_tasks") as u64,
            open_streams: metric(&metrics, "cif_open_streams") as u64,
            streams_churned: counts.churned.load(Ordering::Relaxed) - before.0,
            toasts_answered: counts.answered.load(Ordering::Relaxed) - before.1,
        });
        if plan.restart_every > 0 && samples.len() % plan.restart_every == 0 {
            // The churn's streams resume on the restarted server by themselves; its
            // channels, like the mix's, reconnect.
            let cifd = server.cifd_process().expect("cifd");
            restart(cifd, Stop::Term, placement.place(options()), &admin).await;
            life += 1;
        }
    }
    churn.abort_all();
    while churn.join_next().await.is_some() {}
    samples
}

/// What the background load has done so far.
#[derive(Clone, Default)]
struct Counts {
    /// Streams opened and closed.
    churned: Arc<AtomicU64>,
    /// Toasts answered by an agent.
    answered: Arc<AtomicU64>,
}

impl Counts {
    fn taken(&self) -> (u64, u64) {
        (
            self.churned.load(Ordering::Relaxed),
            self.answered.load(Ordering::Relaxed),
        )
    }
}

/// The streams that come and go, and the desks renewing widget credentials, until aborted.
async fn start_churn(
    server: &Server,
    population: &Population,
    plan: &Plan,
    counts: &Counts,
) -> JoinSet<()> {
    let mut churn = JoinSet::new();
    let channel = server.channel().await;
    for n in 0..plan.churning_streams {
        let agent = &population.agents[n % population.agents.len()];
        let provider = &population.providers[n % population.providers.len()];
        let (agent, provider) = (
            AgentClient::new(channel.clone(), &agent.credential).expect("a credential"),
            ProviderClient::new(channel.clone(), &provider.credential).expect("a credential"),
        );
        let churned = counts.churned.clone();
        churn.spawn(async move {
            let mut round: u64 = n as u64;
            loop {
                round += 1;
                let mut stream = if round.is_multiple_of(2) {
                    agent.subscribe(true)
                } else {
                    provider.subscribe(vec![], false)
                };
                // Read for 200 ms to 2 s; one in four reads nothing and falls behind.
                let stay = Duration::from_millis(200 + round * 337 % 1800);
                if round % 4 == 3 {
                    tokio::time::sleep(stay).await;
                } else {
                    let until = tokio::time::Instant::now() + stay;
                    while let Ok(Some(_)) = tokio::time::timeout_at(until, stream.next()).await {}
                }
                drop(stream);
                churned.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    // Desks renew their widgets' credentials (every 500 ms here, every few minutes for real).
    for agent in population.agents.iter().take(4) {
        let agent = AgentClient::new(channel.clone(), &agent.credential).expect("a credential");
        let providers: Vec<String> = population.providers.iter().map(|p| p.id.clone()).collect();
        churn.spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(500));
            loop {
                every.tick().await;
                for provider_id in &providers {
                    let _ = agent
                        .issue_widget_credential(pb::IssueWidgetCredentialRequest {
                            provider_id: provider_id.clone(),
                        })
                        .await;
                }
            }
        });
    }
    churn
}

/// Toasts, until aborted: two providers each raise one toast after another on a desk of their
/// own, and the agent at that desk accepts or declines each as it shows. Each desk keeps its
/// stream open (else it is offline and toasts end at once); its agent polls the desk for the
/// toast on screen, as a page would read it from the stream.
async fn start_toasts(
    server: &Server,
    population: &Population,
    counts: &Counts,
    load: &mut JoinSet<()>,
) {
    let channel = server.channel().await;
    let next_id = Arc::new(AtomicU64::new(0));
    for (provider, agent) in population.providers.iter().zip(&population.agents).take(2) {
        let agent_id = agent.id.clone();
        let provider =
            ProviderClient::new(channel.clone(), &provider.credential).expect("a credential");
        let agent = AgentClient::new(channel.clone(), &agent.credential).expect("a credential");
        let mut desk = agent.subscribe(false);
        load.spawn(async move { while desk.next().await.is_some() {} });
        let next_id = next_id.clone();
        load.spawn(async move {
            loop {
                let n = next_id.fetch_add(1, Ordering::Relaxed);
                let raised = provider
                    .notify_event(pb::NotifyEventRequest {
                        agent_id: agent_id.clone(),
                        notification_id: format!("0199f0c8-51c4-7bb0-9d8e-{n:012}"),
                        title: "Incoming call".into(),
                        fields: vec![pb::NotificationField {
                            label: "Caller".into(),
                            value: format!("+1 555 {:04}", n % 10_000),
                        }],
                        ..Default::default()
                    })
                    .await;
                if raised.is_err() {
                    // The server is restarting, or the desk not yet back online.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
        let answered = counts.answered.clone();
        load.spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(20));
            let mut accept = false;
            loop {
                every.tick().await;
                let Ok(desk) = agent.get_desk(pb::GetDeskRequest {}).await else {
                    continue;
                };
                let Some(shown) = desk
                    .desk
                    .and_then(|desk| desk.notifications.into_iter().next())
                else {
                    continue;
                };
                accept = !accept;
                let response = agent
                    .respond_to_notification(pb::RespondToNotificationRequest {
                        provider_id: shown.provider_id,
                        notification_id: shown.notification_id,
                        accept,
                        ..Default::default()
                    })
                    .await;
                if response.is_ok() {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
}
