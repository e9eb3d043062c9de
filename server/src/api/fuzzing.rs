//! The request fuzz target: any bytes as the body of any cif.v1 call, with any role's
//! credential (or none), through the real authentication layer and services over one
//! in-memory state, as a network client's call would go. Decoding, parsing and the rules
//! must answer every input with a status, never panic.

use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use cif_sdk::pb;
use prost::Message as _;
use tonic::body::Body;
use tonic::codegen::http;
use tower::ServiceExt as _;

use super::page_token::PageTokens;
use super::{AuthLayer, CommitMetrics, Metrics, Services, parse};
use crate::app::log::{EventLog, LogSettings};
use crate::app::{
    Core, CredentialKind, Limits, RefusalCounts, RequestRetention, issue_credential, write,
};
use crate::domain::{ControlPlane, Settings};

/// A served call of the contract: its path, and whether it streams its answer.
struct Method {
    path: String,
    streams: bool,
}

/// The services, the credentials of each role, and the runtime they run on.
struct Served {
    runtime: tokio::runtime::Runtime,
    service: tonic::service::Routes,
    layer: AuthLayer,
    /// None, the operator's, a provider's, an agent's.
    credentials: [Option<String>; 4],
    methods: Vec<Method>,
}

/// Every method of cif.v1, from the contract's descriptors.
fn methods() -> Vec<Method> {
    let descriptors = prost_types::FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET)
        .expect("the contract's descriptors decode");
    let mut methods = Vec::new();
    for file in descriptors.file {
        let package = file.package().to_owned();
        for service in &file.service {
            for method in &service.method {
                methods.push(Method {
                    path: format!("/{package}.{}/{}", service.name(), method.name()),
                    streams: method.server_streaming(),
                });
            }
        }
    }
    methods
}

fn served() -> &'static Served {
    static SERVED: OnceLock<Served> = OnceLock::new();
    SERVED.get_or_init(|| {
        let (operator, operator_hash) = issue_credential(CredentialKind::Operator);
        let core = Core::in_memory(
            ControlPlane::new(Settings::default(), operator_hash),
            EventLog::new(LogSettings::default()),
            RequestRetention::default(),
        );
        let state = Arc::new(RwLock::new(core));
        let (provider, provider_hash) = issue_credential(CredentialKind::Provider);
        let (agent, agent_hash) = issue_credential(CredentialKind::Agent);
        {
            let new_provider = parse::new_provider(pb::Provider {
                unique_name: "contoso_chat".into(),
                display_name: "Contoso chat".into(),
                label: "Chat".into(),
                channel_url: "https://chat.contoso.com/widget".into(),
                ..Default::default()
            })
            .expect("a valid provider");
            let new_agent = parse::new_agent(pb::Agent {
                display_name: "Ada".into(),
                ..Default::default()
            })
            .expect("a valid agent");
            let (created, _) = write(&state).plane.execute(|plane| {
                plane.create_provider(new_provider, provider_hash)?;
                plane.create_agent(new_agent, agent_hash)
            });
            created.expect("created");
        }
        let refusals = Arc::new(RefusalCounts::default());
        let services = Services::new(state.clone(), 1 << 20, refusals.clone());
        let service = tonic::service::Routes::new(services.provider)
            .add_service(services.agent)
            .add_service(services.admin);
        let metrics = Metrics::new(
            state.clone(),
            CommitMetrics::default(),
            crate::transport::ConnectionMetrics::default(),
        );
        Served {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            service,
            layer: AuthLayer::new(state, metrics, Limits::default(), refusals),
            credentials: [None, Some(operator), Some(provider), Some(agent)],
            methods: methods(),
        }
    })
}

/// `data`: the method (its first byte), whose credential (the second), and the request's
/// bytes (the rest).
pub fn request(data: &[u8]) {
    let [method, credential, message @ ..] = data else {
        return;
    };
    let served = served();
    let method = &served.methods[usize::from(*method) % served.methods.len()];
    let credential = &served.credentials[usize::from(*credential) % served.credentials.len()];
    let mut body = Vec::with_capacity(5 + message.len());
    body.push(0);
    body.extend_from_slice(&(message.len() as u32).to_be_bytes());
    body.extend_from_slice(message);
    let mut request = http::Request::builder()
        .method("POST")
        .uri(&method.path)
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(credential) = credential {
        request = request.header("authorization", format!("Bearer {credential}"));
    }
    let request = request
        .body(Body::new(http_body_util::Full::new(bytes::Bytes::from(
            body,
        ))))
        .expect("a request");
    let service = tower::Layer::layer(&served.layer, served.service.clone());
    served.runtime.block_on(async {
        // A toast waits for the agent's answer (none comes): bounded, as a client's deadline.
        let answered = tokio::time::timeout(Duration::from_secs(1), async {
            let response = service.oneshot(request).await.expect("infallible");
            if !method.streams {
                let _ = http_body_util::BodyExt::collect(response.into_body()).await;
            }
        });
        let _ = answered.await;
    });
}

/// `data`: a query (its length is the first byte) and a page token (the rest, as text). A
/// token not issued for the query is refused; one issued for it reads back its cursor.
pub fn page_token(data: &[u8]) {
    static TOKENS: OnceLock<PageTokens> = OnceLock::new();
    let tokens = TOKENS.get_or_init(PageTokens::with_random_key);
    let [length, rest @ ..] = data else {
        return;
    };
    let (query, token) = rest.split_at(usize::from(*length).min(rest.len()));
    let query = String::from_utf8_lossy(query);
    let _ = tokens.read(&query, &String::from_utf8_lossy(token));
    let issued = tokens.issue_bytes(&query, token);
    assert_eq!(
        tokens.read_bytes(&query, &issued).ok().flatten().as_deref(),
        Some(token),
        "a token reads back the cursor it was issued for"
    );
}
