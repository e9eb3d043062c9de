//! Prometheus metrics, served as text on their own port (`--metrics-listen`): calls and their
//! latency by method, code and reason; commits (latency and how many commands each carried);
//! connections open and refused;
//! and, read from the state at each scrape, open streams, queued stream messages, lagging
//! streams and the log's position.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use crate::app::{SharedCore, read};
use crate::transport::ConnectionMetrics;

// Labels borrow what they can from static strings: a served call copies none (methods and
// codes are a fixed set, and a call that succeeded has no reason).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: &'static str,
    code: &'static str,
    reason: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: &'static str,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    call_seconds: Family<MethodLabels, Histogram>,
}

/// What the store writer reports of each commit. Made before the state (the writer starts
/// with it) and registered with the rest once the state exists.
#[derive(Clone)]
pub struct CommitMetrics {
    seconds: Histogram,
    commands: Histogram,
}

impl Default for CommitMetrics {
    fn default() -> Self {
        Self {
            seconds: Histogram::new(exponential_buckets(0.000_01, 2.0, 20)),
            commands: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
        }
    }
}

impl CommitMetrics {
    /// One commit: how long it took to write and flush, and how many commands it held.
    pub fn observe(&self, took: Duration, commands: usize) {
        self.seconds.observe(took.as_secs_f64());
        self.commands.observe(commands as f64);
    }
}

/// Values that live in the state, read at each scrape.
struct StateCollector(SharedCore);

impl std::fmt::Debug for StateCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateCollector")
    }
}

impl prometheus_client::collector::Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let core = read(&self.0);
        let (queued, deepest, lagged) = core.log.stream_queues();
        let replica = core.replica();
        let (writer, lag, takeovers) = (
            i64::from(!core.follows()),
            replica.lag().as_secs_f64(),
            replica.takeovers,
        );
        let tasks = tokio::runtime::Handle::try_current()
            .map_or(0, |runtime| runtime.metrics().num_alive_tasks());
        let gauges: [(&str, &str, i64); 6] = [
            (
                "cif_runtime_tasks",
                "Tasks alive in the server's runtime (connections, calls, streams, timers)",
                tasks as i64,
            ),
            (
                "cif_replica_writer",
                "1 while this cifd writes the store (always, on a store of its own), 0 while it follows another",
                writer,
            ),
            (
                "cif_open_streams",
                "Open event streams",
                core.log.open_streams() as i64,
            ),
            (
                "cif_stream_queued_messages",
                "Messages waiting in all stream queues",
                queued as i64,
            ),
            (
                "cif_stream_queue_deepest",
                "Messages waiting in the fullest stream queue",
                deepest as i64,
            ),
            (
                "cif_log_sequence",
                "The newest published event sequence",
                core.log.last_sequence() as i64,
            ),
        ];
        drop(core);
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let gauge = ConstGauge::new(lag);
        gauge.encode(encoder.encode_descriptor(
            "cif_replica_lag_seconds",
            "A follower: how long ago it last held everything the writer had committed (0 on the writer)",
            None,
            gauge.metric_type(),
        )?)?;
        for (name, help, value) in [
            (
                "cif_streams_lagged",
                "Streams ended because they fell behind",
                lagged,
            ),
            (
                "cif_replica_takeovers",
                "Times this cifd took the writer's place from another replica",
                takeovers,
            ),
        ] {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

impl Metrics {
    /// Metrics of calls, of `commits` and `connections`, and of what `state` holds at each
    /// scrape.
    pub fn new(
        state: SharedCore,
        commits: CommitMetrics,
        connections: ConnectionMetrics,
    ) -> Arc<Self> {
        let mut registry = Registry::default();
        let calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "cif_calls",
            "Calls answered, by method, status code and ErrorInfo reason",
            calls.clone(),
        );
        let call_seconds = Family::<MethodLabels, Histogram>::new_with_constructor(|| {
            // 10 us to about 10 s.
            Histogram::new(exponential_buckets(0.000_01, 2.0, 20))
        });
        registry.register(
            "cif_call_seconds",
            "Time to answer a call (to the response headers for streams)",
            call_seconds.clone(),
        );
        registry.register(
            "cif_commit_seconds",
            "Time to write and flush one transaction of the store",
            commits.seconds,
        );
        registry.register(
            "cif_commit_commands",
            "Commands written by one transaction (group commit)",
            commits.commands,
        );
        registry.register(
            "cif_connections_open",
            "Connections open now",
            connections.open,
        );
        registry.register(
            "cif_connections_refused",
            "Connections closed at once for going over --max-connections or --max-connections-per-address",
            connections.refused,
        );
        registry.register_collector(Box::new(StateCollector(state)));
        Arc::new(Self {
            registry,
            calls,
            call_seconds,
        })
    }

    /// Counts a call to `method` (the label [`super::method::Method`] gives its path).
    pub fn observe_call(
        &self,
        method: &'static str,
        code: tonic::Code,
        reason: &str,
        took: Duration,
    ) {
        let reason = if reason.is_empty() {
            Cow::Borrowed("")
        } else {
            Cow::Owned(reason.to_owned())
        };
        self.calls
            .get_or_create(&CallLabels {
                method,
                code: cif_sdk::code_name(code),
                reason,
            })
            .inc();
        self.call_seconds
            .get_or_create(&MethodLabels { method })
            .observe(took.as_secs_f64());
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a string does not fail");
        text
    }
}

/// Serves `GET /metrics` on `listener`.
pub async fn serve(metrics: Arc<Metrics>, listener: TcpListener) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    metrics.render(),
                )
            }
        }),
    );
    axum::serve(listener, app).await
}
