//! `cif.v1.AgentService`.

use std::time::Instant;

use cif_sdk::ids::{SessionId, TabId};
use cif_sdk::pb;
use cif_sdk::pb::agent_service_server::AgentService;
use tonic::{Request, Response, Status};

use super::stream::{ResponseStream, open, opening};
use super::{Context, caller_agent, convert, parse, read, write};
use crate::domain::control_plane::PanelChange;
use crate::domain::events::{ClickToAct, Scope};
use crate::domain::toast::ToastKey;

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

    // === tabs, panel, toasts, presence, click-to-act, custom events ===

    async fn focus_tab(
        &self,
        request: Request<pb::AgentServiceFocusTabRequest>,
    ) -> Result<Response<pb::AgentServiceFocusTabResponse>, Status> {
        let caller = caller_agent(&request)?;
        let tab: TabId = parse::id("tab_id", &request.get_ref().tab_id)?;
        let (tab, _) = write(&self.0.state).execute(|plane| plane.agent_focus_tab(caller, tab))?;
        Ok(Response::new(pb::AgentServiceFocusTabResponse {
            tab: Some(convert::tab(&tab, true)),
        }))
    }

    async fn close_tab(
        &self,
        request: Request<pb::AgentServiceCloseTabRequest>,
    ) -> Result<Response<pb::AgentServiceCloseTabResponse>, Status> {
        let caller = caller_agent(&request)?;
        let tab: TabId = parse::id("tab_id", &request.get_ref().tab_id)?;
        let (session, _) = write(&self.0.state)
            .execute(|plane| plane.agent_close_tab(caller, tab).map(convert::session))?;
        Ok(Response::new(pb::AgentServiceCloseTabResponse {
            session: Some(session),
        }))
    }

    async fn set_mode(
        &self,
        request: Request<pb::AgentServiceSetModeRequest>,
    ) -> Result<Response<pb::AgentServiceSetModeResponse>, Status> {
        let caller = caller_agent(&request)?;
        let mode = parse::panel_mode("mode", request.get_ref().mode)?;
        let (mode, _) = write(&self.0.state).execute(|plane| {
            plane
                .agent_set_panel(caller, PanelChange::Mode(mode))
                .map(|desk| desk.panel_mode)
        })?;
        Ok(Response::new(pb::AgentServiceSetModeResponse {
            mode: convert::panel_mode(mode) as i32,
        }))
    }

    async fn set_width(
        &self,
        request: Request<pb::AgentServiceSetWidthRequest>,
    ) -> Result<Response<pb::AgentServiceSetWidthResponse>, Status> {
        let caller = caller_agent(&request)?;
        let width = request.get_ref().width;
        let (width, _) = write(&self.0.state).execute(|plane| {
            plane
                .agent_set_panel(caller, PanelChange::Width(width))
                .map(|desk| desk.panel_width)
        })?;
        Ok(Response::new(pb::AgentServiceSetWidthResponse { width }))
    }

    async fn respond_to_notification(
        &self,
        request: Request<pb::RespondToNotificationRequest>,
    ) -> Result<Response<pb::RespondToNotificationResponse>, Status> {
        let caller = caller_agent(&request)?;
        let request = request.into_inner();
        let key = ToastKey {
            provider: parse::id("provider_id", &request.provider_id)?,
            id: parse::id("notification_id", &request.notification_id)?,
        };
        let (resolution, _) = write(&self.0.state)
            .execute(|plane| plane.respond_to_toast(caller, key, request.accept, Instant::now()))?;
        Ok(Response::new(pb::RespondToNotificationResponse {
            result: Some(convert::notification_result(key, resolution)),
        }))
    }

    async fn set_presence(
        &self,
        request: Request<pb::AgentServiceSetPresenceRequest>,
    ) -> Result<Response<pb::AgentServiceSetPresenceResponse>, Status> {
        let caller = caller_agent(&request)?;
        let id = request.into_inner().presence_id;
        let (presence, _) =
            write(&self.0.state).execute(|plane| plane.agent_set_presence(caller, &id))?;
        Ok(Response::new(pb::AgentServiceSetPresenceResponse {
            presence: Some(convert::presence(&presence)),
        }))
    }

    async fn get_presence(
        &self,
        request: Request<pb::AgentServiceGetPresenceRequest>,
    ) -> Result<Response<pb::AgentServiceGetPresenceResponse>, Status> {
        let caller = caller_agent(&request)?;
        let core = read(&self.0.state);
        let desk = core.plane.desk(caller)?;
        Ok(Response::new(pb::AgentServiceGetPresenceResponse {
            presence: desk.agent.desk.presence.as_ref().map(convert::presence),
        }))
    }

    async fn list_presences(
        &self,
        _request: Request<pb::AgentServiceListPresencesRequest>,
    ) -> Result<Response<pb::AgentServiceListPresencesResponse>, Status> {
        let core = read(&self.0.state);
        Ok(Response::new(pb::AgentServiceListPresencesResponse {
            presences: core.plane.presences().map(convert::presence).collect(),
        }))
    }

    async fn click_to_act(
        &self,
        request: Request<pb::ClickToActRequest>,
    ) -> Result<Response<pb::ClickToActResponse>, Status> {
        let caller = caller_agent(&request)?;
        let request = request.into_inner();
        let click = ClickToAct {
            value: request.value,
            name: request.name,
            format: request.format,
            entity_logical_name: request.entity_logical_name,
        };
        let (provider, _) =
            write(&self.0.state).execute(|plane| plane.click_to_act(caller, click))?;
        Ok(Response::new(pb::ClickToActResponse {
            provider_id: provider.to_string(),
        }))
    }

    async fn raise_event(
        &self,
        request: Request<pb::AgentServiceRaiseEventRequest>,
    ) -> Result<Response<pb::AgentServiceRaiseEventResponse>, Status> {
        let caller = caller_agent(&request)?;
        let request = request.into_inner();
        let to = parse::optional_id("provider_id", &request.provider_id)?;
        let (provider, _) = write(&self.0.state)
            .execute(|plane| plane.agent_raise_event(caller, to, request.name, request.payload))?;
        Ok(Response::new(pb::AgentServiceRaiseEventResponse {
            provider_id: provider.to_string(),
        }))
    }
}
