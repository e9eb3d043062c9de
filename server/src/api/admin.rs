//! `cif.v1.AdminService`.

use cif_sdk::ids::{AgentId, ProviderId, SessionId};
use cif_sdk::pb;
use cif_sdk::pb::admin_service_server::AdminService;
use tonic::{Request, Response, Status};

use super::page_token::page_size;
use super::stream::{ResponseStream, open, opening};
use super::{Context, convert, parse, read, write};
use crate::auth::{CredentialKind, issue_credential};
use crate::domain::control_plane::SessionFilter;
use crate::domain::events::Scope;

pub struct AdminApi(pub Context);

#[tonic::async_trait]
impl AdminService for AdminApi {
    async fn get_server_info(
        &self,
        _request: Request<pb::GetServerInfoRequest>,
    ) -> Result<Response<pb::GetServerInfoResponse>, Status> {
        let at = read(&self.0.state).position();
        Ok(Response::new(pb::GetServerInfoResponse {
            log_id: at.log_id,
            sequence: at.sequence,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            api_version: super::API_VERSION.to_owned(),
            cif_version: super::CIF_VERSION.to_owned(),
            start_time: Some(convert::timestamp(self.0.started)),
        }))
    }

    // === providers ===

    async fn create_provider(
        &self,
        request: Request<pb::CreateProviderRequest>,
    ) -> Result<Response<pb::CreateProviderResponse>, Status> {
        let provider = parse::required("provider", request.into_inner().provider)?;
        let new = parse::new_provider(provider)?;
        let (credential, hash) = issue_credential(CredentialKind::Provider);
        let (record, _) = write(&self.0.state).execute(|plane| plane.create_provider(new, hash))?;
        tracing::info!(provider = %record.id, unique_name = record.unique_name, "provider created");
        Ok(Response::new(pb::CreateProviderResponse {
            provider: Some(convert::provider(&record)),
            credential,
        }))
    }

    async fn get_provider(
        &self,
        request: Request<pb::GetProviderRequest>,
    ) -> Result<Response<pb::GetProviderResponse>, Status> {
        let id: ProviderId = parse::id("provider_id", &request.get_ref().provider_id)?;
        let state = read(&self.0.state);
        Ok(Response::new(pb::GetProviderResponse {
            provider: Some(convert::provider(state.plane.provider(id)?)),
        }))
    }

    async fn list_providers(
        &self,
        request: Request<pb::ListProvidersRequest>,
    ) -> Result<Response<pb::ListProvidersResponse>, Status> {
        let request = request.into_inner();
        let limit = page_size(request.page_size)?;
        let query = "admin.providers";
        let after = self.0.page_tokens.read(query, &request.page_token)?;
        let state = read(&self.0.state);
        let page = state
            .plane
            .providers(after.map(ProviderId::from_uuid), limit);
        Ok(Response::new(pb::ListProvidersResponse {
            providers: page.items.into_iter().map(convert::provider).collect(),
            next_page_token: page
                .next
                .map(|next| self.0.page_tokens.issue(query, next.as_uuid()))
                .unwrap_or_default(),
        }))
    }

    async fn update_provider(
        &self,
        request: Request<pb::UpdateProviderRequest>,
    ) -> Result<Response<pb::UpdateProviderResponse>, Status> {
        let request = request.into_inner();
        let provider = parse::required("provider", request.provider)?;
        let id: ProviderId = parse::id("provider.id", &provider.id)?;
        let patch = parse::provider_patch(provider, request.update_mask)?;
        let (record, _) = write(&self.0.state).execute(|plane| plane.update_provider(id, patch))?;
        Ok(Response::new(pb::UpdateProviderResponse {
            provider: Some(convert::provider(&record)),
        }))
    }

    async fn activate_provider(
        &self,
        request: Request<pb::ActivateProviderRequest>,
    ) -> Result<Response<pb::ActivateProviderResponse>, Status> {
        let id: ProviderId = parse::id("provider_id", &request.get_ref().provider_id)?;
        let (record, _) =
            write(&self.0.state).execute(|plane| plane.set_provider_active(id, true))?;
        tracing::info!(provider = %id, "provider activated");
        Ok(Response::new(pb::ActivateProviderResponse {
            provider: Some(convert::provider(&record)),
        }))
    }

    async fn deactivate_provider(
        &self,
        request: Request<pb::DeactivateProviderRequest>,
    ) -> Result<Response<pb::DeactivateProviderResponse>, Status> {
        let id: ProviderId = parse::id("provider_id", &request.get_ref().provider_id)?;
        let (record, _) =
            write(&self.0.state).execute(|plane| plane.set_provider_active(id, false))?;
        tracing::info!(provider = %id, "provider deactivated");
        Ok(Response::new(pb::DeactivateProviderResponse {
            provider: Some(convert::provider(&record)),
        }))
    }

    async fn delete_provider(
        &self,
        request: Request<pb::DeleteProviderRequest>,
    ) -> Result<Response<pb::DeleteProviderResponse>, Status> {
        let id: ProviderId = parse::id("provider_id", &request.get_ref().provider_id)?;
        write(&self.0.state).execute(|plane| plane.delete_provider(id))?;
        tracing::info!(provider = %id, "provider deleted, credential revoked");
        Ok(Response::new(pb::DeleteProviderResponse {}))
    }

    async fn rotate_provider_credential(
        &self,
        request: Request<pb::RotateProviderCredentialRequest>,
    ) -> Result<Response<pb::RotateProviderCredentialResponse>, Status> {
        let id: ProviderId = parse::id("provider_id", &request.get_ref().provider_id)?;
        let (credential, hash) = issue_credential(CredentialKind::Provider);
        write(&self.0.state).execute(|plane| plane.rotate_provider_credential(id, hash))?;
        tracing::info!(provider = %id, "provider credential rotated");
        Ok(Response::new(pb::RotateProviderCredentialResponse {
            credential,
        }))
    }

    // === agents ===

    async fn create_agent(
        &self,
        request: Request<pb::CreateAgentRequest>,
    ) -> Result<Response<pb::CreateAgentResponse>, Status> {
        let agent = parse::required("agent", request.into_inner().agent)?;
        let new = parse::new_agent(agent)?;
        let (credential, hash) = issue_credential(CredentialKind::Agent);
        let (record, _) = write(&self.0.state).execute(|plane| plane.create_agent(new, hash))?;
        tracing::info!(agent = %record.id, "agent created");
        Ok(Response::new(pb::CreateAgentResponse {
            agent: Some(convert::agent(&record)),
            credential,
        }))
    }

    async fn get_agent(
        &self,
        request: Request<pb::GetAgentRequest>,
    ) -> Result<Response<pb::GetAgentResponse>, Status> {
        let id: AgentId = parse::id("agent_id", &request.get_ref().agent_id)?;
        let state = read(&self.0.state);
        Ok(Response::new(pb::GetAgentResponse {
            agent: Some(convert::agent(state.plane.agent_record(id)?)),
        }))
    }

    async fn list_agents(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        let request = request.into_inner();
        let limit = page_size(request.page_size)?;
        let query = "admin.agents";
        let after = self.0.page_tokens.read(query, &request.page_token)?;
        let state = read(&self.0.state);
        let page = state.plane.agents(after.map(AgentId::from_uuid), limit);
        Ok(Response::new(pb::ListAgentsResponse {
            agents: page.items.into_iter().map(convert::agent).collect(),
            next_page_token: page
                .next
                .map(|next| self.0.page_tokens.issue(query, next.as_uuid()))
                .unwrap_or_default(),
        }))
    }

    async fn update_agent(
        &self,
        request: Request<pb::UpdateAgentRequest>,
    ) -> Result<Response<pb::UpdateAgentResponse>, Status> {
        let request = request.into_inner();
        let agent = parse::required("agent", request.agent)?;
        let id: AgentId = parse::id("agent.id", &agent.id)?;
        let patch = parse::agent_patch(agent, request.update_mask)?;
        let (record, _) = write(&self.0.state).execute(|plane| plane.update_agent(id, patch))?;
        Ok(Response::new(pb::UpdateAgentResponse {
            agent: Some(convert::agent(&record)),
        }))
    }

    async fn delete_agent(
        &self,
        request: Request<pb::DeleteAgentRequest>,
    ) -> Result<Response<pb::DeleteAgentResponse>, Status> {
        let id: AgentId = parse::id("agent_id", &request.get_ref().agent_id)?;
        let force = request.get_ref().force;
        let (closed, _) = write(&self.0.state).execute(|plane| plane.delete_agent(id, force))?;
        tracing::info!(agent = %id, closed_sessions = closed.len(), "agent deleted, credential revoked");
        Ok(Response::new(pb::DeleteAgentResponse {}))
    }

    async fn rotate_agent_credential(
        &self,
        request: Request<pb::RotateAgentCredentialRequest>,
    ) -> Result<Response<pb::RotateAgentCredentialResponse>, Status> {
        let id: AgentId = parse::id("agent_id", &request.get_ref().agent_id)?;
        let (credential, hash) = issue_credential(CredentialKind::Agent);
        write(&self.0.state).execute(|plane| plane.rotate_agent_credential(id, hash))?;
        tracing::info!(agent = %id, "agent credential rotated");
        Ok(Response::new(pb::RotateAgentCredentialResponse {
            credential,
        }))
    }

    // === desks and sessions ===

    async fn get_desk(
        &self,
        request: Request<pb::AdminServiceGetDeskRequest>,
    ) -> Result<Response<pb::AdminServiceGetDeskResponse>, Status> {
        let id: AgentId = parse::id("agent_id", &request.get_ref().agent_id)?;
        let core = read(&self.0.state);
        let desk = convert::desk(core.plane.desk(id)?);
        let at = core.position();
        Ok(Response::new(pb::AdminServiceGetDeskResponse {
            desk: Some(desk),
            log_id: at.log_id,
            sequence: at.sequence,
        }))
    }

    async fn get_session(
        &self,
        request: Request<pb::AdminServiceGetSessionRequest>,
    ) -> Result<Response<pb::AdminServiceGetSessionResponse>, Status> {
        let id: SessionId = parse::id("session_id", &request.get_ref().session_id)?;
        let core = read(&self.0.state);
        let session = convert::session(core.plane.session(id)?);
        let at = core.position();
        Ok(Response::new(pb::AdminServiceGetSessionResponse {
            session: Some(session),
            log_id: at.log_id,
            sequence: at.sequence,
        }))
    }

    async fn list_sessions(
        &self,
        request: Request<pb::AdminServiceListSessionsRequest>,
    ) -> Result<Response<pb::AdminServiceListSessionsResponse>, Status> {
        let request = request.into_inner();
        let filter = SessionFilter {
            agent: parse::optional_id("agent_id", &request.agent_id)?,
            provider: parse::optional_id("provider_id", &request.provider_id)?,
            show_closed: request.show_closed,
        };
        let limit = page_size(request.page_size)?;
        let query = format!(
            "admin.sessions agent={} provider={} closed={}",
            request.agent_id, request.provider_id, request.show_closed
        );
        let after = self.0.page_tokens.read(&query, &request.page_token)?;
        let core = read(&self.0.state);
        let page = core
            .plane
            .sessions(filter, after.map(SessionId::from_uuid), limit);
        let at = core.position();
        Ok(Response::new(pb::AdminServiceListSessionsResponse {
            log_id: at.log_id,
            sequence: at.sequence,
            next_page_token: page
                .next
                .map(|next| self.0.page_tokens.issue(&query, next.as_uuid()))
                .unwrap_or_default(),
            sessions: page.items.into_iter().map(convert::session).collect(),
        }))
    }

    type WatchStream = ResponseStream<pb::WatchResponse>;

    async fn watch(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let request = request.into_inner();
        let opening = opening(request.snapshot, &request.log_id, request.after_sequence)?;
        let stream = open(&self.0.state, Scope::Everything, opening)?;
        Ok(Response::new(stream.into_responses(|message| {
            pb::WatchResponse {
                message: Some(message),
            }
        })))
    }

    // === presences (rule 13) ===

    async fn create_presence(
        &self,
        request: Request<pb::CreatePresenceRequest>,
    ) -> Result<Response<pb::CreatePresenceResponse>, Status> {
        let presence = parse::required("presence", request.into_inner().presence)?;
        let presence = parse::presence(presence)?;
        let (presence, _) =
            write(&self.0.state).execute(|plane| plane.create_presence(presence))?;
        Ok(Response::new(pb::CreatePresenceResponse {
            presence: Some(convert::presence(&presence)),
        }))
    }

    async fn list_presences(
        &self,
        _request: Request<pb::ListPresencesRequest>,
    ) -> Result<Response<pb::ListPresencesResponse>, Status> {
        let core = read(&self.0.state);
        Ok(Response::new(pb::ListPresencesResponse {
            presences: core.plane.presences().map(convert::presence).collect(),
        }))
    }

    async fn update_presence(
        &self,
        request: Request<pb::UpdatePresenceRequest>,
    ) -> Result<Response<pb::UpdatePresenceResponse>, Status> {
        let request = request.into_inner();
        let presence = parse::required("presence", request.presence)?;
        let id = presence.presence_id.clone();
        let patch = parse::presence_patch(presence, request.update_mask)?;
        let (presence, _) =
            write(&self.0.state).execute(|plane| plane.update_presence(&id, patch))?;
        Ok(Response::new(pb::UpdatePresenceResponse {
            presence: Some(convert::presence(&presence)),
        }))
    }

    async fn delete_presence(
        &self,
        request: Request<pb::DeletePresenceRequest>,
    ) -> Result<Response<pb::DeletePresenceResponse>, Status> {
        let id = request.into_inner().presence_id;
        write(&self.0.state).execute(|plane| plane.delete_presence(&id))?;
        Ok(Response::new(pb::DeletePresenceResponse {}))
    }
}
