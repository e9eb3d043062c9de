//! Which replicas a channel made by [`crate::connect_any`] may use: those whose gRPC health
//! check answers SERVING, checked every [`CHECK_EVERY`].

use std::time::Duration;

use tokio::sync::mpsc::Sender;
use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How often every replica's health is checked.
pub const CHECK_EVERY: Duration = Duration::from_millis(250);

/// How long a replica may take to answer a check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// One replica: its address, a connection for its checks, and whether calls go to it.
struct Replica {
    endpoint: Endpoint,
    checks: HealthClient<Channel>,
    in_use: bool,
}

/// The replicas, and where to tell the channel which ones to use.
pub struct Replicas {
    replicas: Vec<Replica>,
    changes: Sender<Change<usize, Endpoint>>,
}

impl Replicas {
    pub fn new(endpoints: Vec<Endpoint>, changes: Sender<Change<usize, Endpoint>>) -> Self {
        let replicas = endpoints
            .into_iter()
            .map(|endpoint| Replica {
                checks: HealthClient::new(
                    endpoint
                        .clone()
                        .connect_timeout(CHECK_TIMEOUT)
                        .connect_lazy(),
                ),
                endpoint,
                in_use: false,
            })
            .collect();
        Self { replicas, changes }
    }

    /// Checks every replica once, and tells the channel of each change; returns whether any
    /// is in use.
    pub async fn check(&mut self) -> bool {
        for (key, replica) in self.replicas.iter_mut().enumerate() {
            let serving = tokio::time::timeout(
                CHECK_TIMEOUT,
                replica.checks.check(HealthCheckRequest::default()),
            )
            .await
            .is_ok_and(|answer| {
                answer
                    .is_ok_and(|answer| answer.into_inner().status == ServingStatus::Serving as i32)
            });
            let change = match (serving, replica.in_use) {
                (true, false) => Change::Insert(key, replica.endpoint.clone()),
                (false, true) => Change::Remove(key),
                _ => continue,
            };
            if self.changes.send(change).await.is_err() {
                // The channel is gone: nothing to tell.
                return false;
            }
            replica.in_use = serving;
        }
        self.replicas.iter().any(|replica| replica.in_use)
    }

    /// Checks again and again, until the channel is dropped.
    pub async fn keep_checking(mut self) {
        loop {
            tokio::time::sleep(CHECK_EVERY).await;
            self.check().await;
            if self.changes.is_closed() {
                return;
            }
        }
    }

    /// The replicas' addresses, for a message.
    pub fn describe(&self) -> String {
        self.replicas
            .iter()
            .map(|replica| replica.endpoint.uri().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
