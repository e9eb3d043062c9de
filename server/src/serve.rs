//! The wiring: the state opened from its data directory (or in memory), the declarations
//! applied, the services, layers and timers started, and a graceful shutdown.

use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use cif_sdk::pb;
use cif_sdk::pb::admin_service_server::AdminServiceServer;
use cif_sdk::pb::agent_service_server::AgentServiceServer;
use cif_sdk::pb::provider_service_server::ProviderServiceServer;
use tokio::net::TcpListener;

use crate::api::{
    AdminApi, AgentApi, AuthLayer, CommitMetrics, ForwardLayer, FrontDoorLayer, Metrics,
    ProviderApi, Services,
};
use crate::app::log::EventLog;
use crate::app::{Core, Store as _, Timers, read, write};
use crate::config::Cli;
use crate::domain::control_plane::Declared;
use crate::domain::{ControlPlane, CredentialHash, DomainError, Reason};
use crate::transport::incoming_maybe_tls;

/// The state a server starts from: loaded from its data directory, or empty in memory.
pub struct Opened {
    /// The store and what it held; `None` with `--in-memory`.
    durable: Option<(crate::store::AnyStore, crate::app::Loaded)>,
}

impl Opened {
    /// The operator token's hash a previous start generated and stored, if any.
    pub fn stored_operator_credential(&self) -> Option<CredentialHash> {
        self.durable
            .as_ref()
            .and_then(|(_, loaded)| loaded.operator_credential)
    }

    /// Remembers a generated operator token's hash, so later starts keep it.
    pub fn store_operator_credential(
        &mut self,
        hash: &CredentialHash,
    ) -> Result<(), crate::app::StoreError> {
        match &mut self.durable {
            Some((store, _)) => store.set_operator_credential(hash),
            None => Ok(()),
        }
    }

    /// Whether state survives restarts.
    pub fn is_durable(&self) -> bool {
        self.durable.is_some()
    }
}

/// Where the configuration keeps the state: PostgreSQL with `--store` (the password from
/// `CIF_STORE_PASSWORD`, else libpq's `PGPASSWORD`), else the data directory.
/// `address` is where this cifd takes calls, announced to the other replicas.
pub fn store_location(cli: &Cli, address: &str) -> crate::store::StoreLocation {
    match &cli.store {
        Some(url) => crate::store::StoreLocation::Postgres(crate::store::PostgresTarget {
            url: url.clone(),
            password: std::env::var("CIF_STORE_PASSWORD")
                .or_else(|_| std::env::var("PGPASSWORD"))
                .ok(),
            address: address.to_owned(),
        }),
        None => crate::store::StoreLocation::DataDir(cli.data_dir.clone()),
    }
}

/// Where the other replicas reach this cifd: `--advertise`, else http:// and the bound
/// address.
pub fn advertised(cli: &Cli, bound: std::net::SocketAddr) -> String {
    cli.advertise
        .clone()
        .unwrap_or_else(|| format!("{}://{bound}", cli.scheme()))
}

/// Opens the data directory or the database (or nothing, with `--in-memory`); `address` is
/// where this cifd takes calls.
pub fn open_state(cli: &Cli, address: &str) -> Result<Opened, crate::app::StoreError> {
    if cli.in_memory {
        return Ok(Opened { durable: None });
    }
    let settings = cli.log_settings();
    let retention = crate::app::Retention {
        history: settings.history,
        history_age: settings.history_age,
        requests: cli.request_retention(),
    };
    let durable = crate::store::AnyStore::open(&store_location(cli, address), retention)?;
    Ok(Opened {
        durable: Some(durable),
    })
}

/// Applies the configuration file's declarations, calls `ready`, then serves cif.v1, health
/// and reflection on `listener` until `shutdown` completes.
pub async fn serve(
    cli: &Cli,
    opened: Opened,
    declared: Declared,
    listener: TcpListener,
    operator_credential: CredentialHash,
    ready: impl FnOnce(),
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let now = SystemTime::now();
    let commits = CommitMetrics::default();
    // The configuration file's declarations: applied by the writer, before anyone is served,
    // or by a follower when it takes the writer's place (replicas share one configuration).
    let mut declare: Option<crate::app::OnWriting> = Some(Box::new(move |plane| {
        crate::api::apply_configuration(plane, declared, || {
            // A credential nobody holds: the operator issues real ones through AdminService.
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).expect("the operating system's random source works");
            CredentialHash(bytes)
        })
    }));
    let (state, writer) = match opened.durable {
        None => {
            let core = Core::in_memory(
                ControlPlane::new(
                    cli.domain_settings(listener.local_addr()?),
                    operator_credential,
                ),
                EventLog::new(cli.log_settings()),
                cli.request_retention(),
            );
            (Arc::new(RwLock::new(core)), None)
        }
        Some((store, loaded)) => {
            let plane = ControlPlane::restore(
                cli.domain_settings(listener.local_addr()?),
                operator_credential,
                loaded.records,
                now,
            )
            .map_err(|damaged| {
                crate::app::StoreError::Unusable(format!(
                    "the stored state contradicts itself: {damaged}; restore a backup into an empty data directory (`cifd restore`), or move the data directory away to start empty"
                ))
            })?;
            let log = EventLog::restore(
                cli.log_settings(),
                loaded.log_id,
                loaded.last_sequence,
                loaded.tail,
            );
            let (state, writer) = Core::durable(
                plane,
                log,
                store,
                loaded.requests,
                cli.request_retention(),
                crate::app::Started {
                    address: advertised(cli, listener.local_addr()?),
                    position: loaded.position,
                    role: loaded.role,
                    on_writing: if loaded.role == crate::app::Role::Follower {
                        declare.take()
                    } else {
                        None
                    },
                },
                {
                    let commits = commits.clone();
                    move |took, batches| commits.observe(took, batches)
                },
            );
            (state, Some(writer))
        }
    };
    if let Some(declare) = declare {
        let applied = write(&state).execute(declare);
        match applied {
            Ok(committed) => {
                committed.confirmed().await?;
            }
            Err(error) => return Err(error.message.into()),
        }
    }
    tracing::info!(
        log_id = %read(&state).log.log_id(),
        sequence = read(&state).log.last_sequence(),
        durable = writer.is_some(),
        "state ready"
    );
    let refusals = std::sync::Arc::new(crate::app::RefusalCounts::default());
    let timers = Timers::start(&state, cli.heartbeat_interval, cli.closed_session_retention);
    let Services {
        provider,
        agent,
        admin,
    } = Services::new(
        state.clone(),
        cli.max_request_bytes as usize,
        refusals.clone(),
    );

    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<ProviderServiceServer<ProviderApi>>()
        .await;
    health.set_serving::<AgentServiceServer<AgentApi>>().await;
    health.set_serving::<AdminServiceServer<AdminApi>>().await;
    let replica_health = tokio::spawn(report_replica_health(state.clone(), health.clone()));

    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // So grpcurl and other reflection clients can show ErrorInfo and BadRequest.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;

    let connections = crate::transport::ConnectionMetrics::default();
    let metrics = Metrics::new(state.clone(), commits, connections.clone());
    let (drain, drained) = tokio::sync::oneshot::channel::<()>();
    let metrics_endpoint = match cli.metrics_listen {
        None => None,
        Some(address) => {
            let listener = TcpListener::bind(address)
                .await
                .map_err(|error| format!("cannot serve metrics on {address}: {error}"))?;
            println!("cifd metrics on {}", listener.local_addr()?);
            let metrics = metrics.clone();
            Some(tokio::spawn(async move {
                if let Err(error) = crate::api::serve_metrics(metrics, listener).await {
                    tracing::warn!(%error, "the metrics endpoint stopped");
                }
            }))
        }
    };
    // TLS is set up before anyone is told the server is ready: a bad file stops the start.
    let tls = cli
        .tls_files()
        .map(|files| crate::tls::Tls::configure(files, cli.tls_peer_ca.as_deref()))
        .transpose()?;
    let reloading_tls = tls.as_ref().map(crate::tls::Tls::keep_current);
    let peer_tls = tls.as_ref().and_then(|tls| tls.peer_client.clone());
    let incoming = incoming_maybe_tls(
        listener,
        cli.dead_peer_timeout,
        cli.connection_limits(),
        connections,
        tls.map(|tls| (tls.acceptor, tls.replicas)),
    );
    ready();
    let grpc = tonic::service::Routes::builder()
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(provider)
        .add_service(agent)
        .add_service(admin)
        .clone()
        .routes();
    let limits = crate::app::Limits {
        principals: cli.call_rates(),
        addresses: cli.address_rates(),
        in_flight: cli.in_flight(),
    };
    let service = tower::ServiceBuilder::new()
        // grpc-web from browsers, and the pages, beside native gRPC.
        .layer(FrontDoorLayer::new(&cli.cors_origins))
        // A follower forwards only calls it has authenticated and admitted.
        .layer(AuthLayer::new(
            state.clone(),
            metrics.clone(),
            limits,
            refusals,
        ))
        .layer(ForwardLayer::new(state.clone(), peer_tls))
        .service(grpc);
    let settings = crate::http::HttpSettings {
        header_read_timeout: cli.dead_peer_timeout,
        max_streams_per_connection: cli.max_streams_per_connection,
    };
    let server = crate::http::serve(incoming, service, settings, async move {
        let _ = drained.await;
        health
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
    });
    tokio::pin!(server);
    tokio::select! {
        () = &mut server => {}
        () = shutdown => {
            // End every stream (each says why, so clients resume elsewhere or later), stop
            // accepting and ask every connection to finish; a client that does not is cut off
            // after the grace period, so shutdown never hangs on it.
            timers.stop();
            replica_health.abort();
            if let Some(reloading) = &reloading_tls {
                reloading.abort();
            }
            if let Some(endpoint) = &metrics_endpoint {
                endpoint.abort();
            }
            let shutting_down = DomainError::new(
                Reason::ServerShuttingDown,
                "the server is shutting down; reconnect and resume with log_id and after_sequence",
            );
            {
                let mut core = write(&state);
                core.log.end_all(&shutting_down);
                core.release_toast_waiters();
            }
            let _ = drain.send(());
            let grace = cli.shutdown_grace;
            if tokio::time::timeout(grace, &mut server).await.is_err() {
                tracing::warn!(
                    ?grace,
                    "connections still open after the grace period; closing them"
                );
            }
        }
    }
    // Calls still running after this are refused; what was accepted is committed before the
    // process exits.
    write(&state).close_store();
    if let Some(writer) = writer {
        let finished = tokio::task::spawn_blocking(move || writer.join()).await;
        if !matches!(finished, Ok(Ok(()))) {
            tracing::error!("the store writer failed while finishing");
        }
    }
    Ok(())
}

/// The health service name that answers SERVING on the replica that writes the store, and
/// NOT_SERVING on those that follow it.
pub const WRITER_HEALTH: &str = "cifd.Writer";

/// How far behind the writer a follower may fall before its health says NOT_SERVING (it
/// lost the store, or cannot keep up): clients that check health stop using it.
const FOLLOWER_LAG_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Keeps the health service telling which replica writes, and whether a follower keeps up.
async fn report_replica_health(
    state: crate::app::SharedCore,
    health: tonic_health::server::HealthReporter,
) {
    use tonic_health::ServingStatus::{NotServing, Serving};
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(250));
    let mut reported = None;
    loop {
        ticks.tick().await;
        let (writes, keeps_up) = {
            let core = read(&state);
            (!core.follows(), core.replica().lag() < FOLLOWER_LAG_LIMIT)
        };
        if reported == Some((writes, keeps_up)) {
            continue;
        }
        reported = Some((writes, keeps_up));
        let status = |yes: bool| if yes { Serving } else { NotServing };
        health
            .set_service_status(WRITER_HEALTH, status(writes))
            .await;
        health.set_service_status("", status(keeps_up)).await;
    }
}
