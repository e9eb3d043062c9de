//! `cif.v1.ProviderService`.

use cif_sdk::ids::{AgentId, SessionId};
use cif_sdk::pb;
use cif_sdk::pb::provider_service_server::ProviderService;
use tonic::{Request, Response, Status};

use super::page_token::page_size;
use super::stream::{ResponseStream, agent_filter, open, opening};
use super::{Context, caller_provider, convert, parse, read, write};
use crate::domain::control_plane::{FocusedSession, NewSession};
use crate::domain::events::Scope;

pub struct ProviderApi(pub Context);

#[tonic::async_trait]
impl ProviderService for ProviderApi {
    async fn create_session(
        &self,
        request: Request<pb::CreateSessionRequest>,
    ) -> Result<Response<pb::CreateSessionResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let new = NewSession {
            agent: parse::id("agent_id", &request.agent_id)?,
            template: request.template,
            title: request.title,
            context: request.context.into_iter().collect(),
        };
        let (session, at) = write(&self.0.state)
            .execute(|plane| plane.create_session(caller, new).map(convert::session))?;
        Ok(Response::new(pb::CreateSessionResponse {
            session: Some(session),
            log_id: at.log_id,
            sequence: at.sequence,
        }))
    }

    async fn can_create_session(
        &self,
        request: Request<pb::CanCreateSessionRequest>,
    ) -> Result<Response<pb::CanCreateSessionResponse>, Status> {
        let caller = caller_provider(&request)?;
        let agent: AgentId = parse::id("agent_id", &request.get_ref().agent_id)?;
        let room = read(&self.0.state)
            .plane
            .can_create_session(caller, agent)?;
        Ok(Response::new(pb::CanCreateSessionResponse {
            can_create: room.remaining > 0,
            remaining: room.remaining,
            limit: room.limit,
        }))
    }

    async fn get_session(
        &self,
        request: Request<pb::GetSessionRequest>,
    ) -> Result<Response<pb::GetSessionResponse>, Status> {
        let caller = caller_provider(&request)?;
        let id: SessionId = parse::id("session_id", &request.get_ref().session_id)?;
        let core = read(&self.0.state);
        let session = convert::session(core.plane.provider_session(caller, id)?);
        let at = core.position();
        Ok(Response::new(pb::GetSessionResponse {
            session: Some(session),
            log_id: at.log_id,
            sequence: at.sequence,
        }))
    }

    async fn list_sessions(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let agent: Option<AgentId> = parse::optional_id("agent_id", &request.agent_id)?;
        let limit = page_size(request.page_size)?;
        let query = format!(
            "provider.sessions caller={caller} agent={} closed={}",
            request.agent_id, request.show_closed
        );
        let after = self.0.page_tokens.read(&query, &request.page_token)?;
        let core = read(&self.0.state);
        let page = core.plane.provider_sessions(
            caller,
            agent,
            request.show_closed,
            after.map(SessionId::from_uuid),
            limit,
        )?;
        let at = core.position();
        Ok(Response::new(pb::ListSessionsResponse {
            next_page_token: page
                .next
                .map(|next| self.0.page_tokens.issue(&query, next.as_uuid()))
                .unwrap_or_default(),
            sessions: page.items.into_iter().map(convert::session).collect(),
            log_id: at.log_id,
            sequence: at.sequence,
        }))
    }

    async fn get_focused_session(
        &self,
        request: Request<pb::GetFocusedSessionRequest>,
    ) -> Result<Response<pb::GetFocusedSessionResponse>, Status> {
        let caller = caller_provider(&request)?;
        let agent: AgentId = parse::id("agent_id", &request.get_ref().agent_id)?;
        let focused = read(&self.0.state).plane.focused_session(caller, agent)?;
        let (session_id, home) = match focused {
            FocusedSession::Home(id) => (id.to_string(), true),
            FocusedSession::Own(id) => (id.to_string(), false),
            FocusedSession::Elsewhere => (String::new(), false),
        };
        Ok(Response::new(pb::GetFocusedSessionResponse {
            session_id,
            home,
        }))
    }

    type SubscribeStream = ResponseStream<pb::SubscribeResponse>;

    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let agents = agent_filter(&request.agent_ids)?;
        let opening = opening(request.snapshot, &request.log_id, request.after_sequence)?;
        let scope = Scope::Provider {
            provider: caller,
            agents,
        };
        let stream = open(&self.0.state, scope, opening)?;
        Ok(Response::new(stream.into_responses(|message| {
            pb::SubscribeResponse {
                message: Some(message),
            }
        })))
    }
}
