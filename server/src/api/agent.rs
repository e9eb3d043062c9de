//! `cif.v1.AgentService`.

use cif_sdk::pb;
use cif_sdk::pb::agent_service_server::AgentService;
use tonic::{Request, Response, Status};

use super::{Context, caller_agent, convert, read};

pub struct AgentApi(pub Context);

#[tonic::async_trait]
impl AgentService for AgentApi {
    async fn get_desk(
        &self,
        request: Request<pb::GetDeskRequest>,
    ) -> Result<Response<pb::GetDeskResponse>, Status> {
        let caller = caller_agent(&request)?;
        let state = read(&self.0.state);
        let desk = state.desk(caller)?;
        Ok(Response::new(pb::GetDeskResponse {
            desk: Some(convert::desk(desk)),
        }))
    }
}
