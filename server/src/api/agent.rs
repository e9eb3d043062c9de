//! `cif.v1.AgentService`.

use cif_sdk::ids::SessionId;
use cif_sdk::pb;
use cif_sdk::pb::agent_service_server::AgentService;
use tonic::{Request, Response, Status};

use super::stream::{ResponseStream, open, opening};
use super::{Context, caller_agent, convert, parse, read, write};
use crate::domain::events::Scope;

pub struct AgentApi(pub Context);

#[tonic::async_trait]
impl AgentService for AgentApi {
    async fn get_desk(
        &self,
        request: Request<pb::GetDeskRequest>,
    ) -> Result<Response<pb::GetDeskResponse>, Status> {
        let caller = caller_agent(&request)?;
        let core = read(&self.0.state);
        let desk = convert::desk(core.plane.desk(caller)?);
        let at = core.position();
        Ok(Response::new(pb::GetDeskResponse {
            desk: Some(desk),
            log_id: at.log_id,
            sequence: at.sequence,
        }))
    }

    async fn switch_session(
        &self,
        request: Request<pb::SwitchSessionRequest>,
    ) -> Result<Response<pb::SwitchSessionResponse>, Status> {
        let caller = caller_agent(&request)?;
        let session: SessionId = parse::id("session_id", &request.get_ref().session_id)?;
        let (desk, at) = write(&self.0.state)
            .execute(|plane| plane.switch_session(caller, session).map(convert::desk))?;
        Ok(Response::new(pb::SwitchSessionResponse {
            desk: Some(desk),
            log_id: at.log_id,
            sequence: at.sequence,
        }))
    }

    async fn close_session(
        &self,
        request: Request<pb::CloseSessionRequest>,
    ) -> Result<Response<pb::CloseSessionResponse>, Status> {
        let caller = caller_agent(&request)?;
        let session: SessionId = parse::id("session_id", &request.get_ref().session_id)?;
        let (desk, at) = write(&self.0.state).execute(|plane| {
            plane
                .close_session_as_agent(caller, session)
                .map(convert::desk)
        })?;
        Ok(Response::new(pb::CloseSessionResponse {
            desk: Some(desk),
            log_id: at.log_id,
            sequence: at.sequence,
        }))
    }

    type SubscribeStream = ResponseStream<pb::AgentServiceSubscribeResponse>;

    async fn subscribe(
        &self,
        request: Request<pb::AgentServiceSubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let caller = caller_agent(&request)?;
        let request = request.into_inner();
        let opening = opening(request.snapshot, &request.log_id, request.after_sequence)?;
        let stream = open(&self.0.state, Scope::Agent(caller), opening)?;
        Ok(Response::new(stream.into_responses(|message| {
            pb::AgentServiceSubscribeResponse {
                message: Some(message),
            }
        })))
    }
}
