//! The three cif.v1 services as tonic serves them, each over the one shared state.

use std::sync::Arc;
use std::time::SystemTime;

use cif_sdk::pb::admin_service_server::AdminServiceServer;
use cif_sdk::pb::agent_service_server::AgentServiceServer;
use cif_sdk::pb::provider_service_server::ProviderServiceServer;

use super::admin::AdminApi;
use super::agent::AgentApi;
use super::call::Context;
use super::page_token::PageTokens;
use super::provider::ProviderApi;
use crate::app::{RefusalCounts, SharedCore};

/// ProviderService, AgentService and AdminService, refusing requests over `max_request`
/// bytes.
pub struct Services {
    pub provider: ProviderServiceServer<ProviderApi>,
    pub agent: AgentServiceServer<AgentApi>,
    pub admin: AdminServiceServer<AdminApi>,
}

impl Services {
    /// `refusals`: the refused calls counted, which AdminService lists.
    pub fn new(state: SharedCore, max_request: usize, refusals: Arc<RefusalCounts>) -> Self {
        let context = Context {
            state,
            page_tokens: Arc::new(PageTokens::with_random_key()),
            started: SystemTime::now(),
            refusals,
        };
        Self {
            provider: ProviderServiceServer::new(ProviderApi(context.clone()))
                .max_decoding_message_size(max_request),
            agent: AgentServiceServer::new(AgentApi(context.clone()))
                .max_decoding_message_size(max_request),
            admin: AdminServiceServer::new(AdminApi(context))
                .max_decoding_message_size(max_request),
        }
    }
}
