//! `cif.v1.AgentService`.

use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId, SessionId, TabId};
use cif_sdk::pb;
use cif_sdk::pb::agent_service_server::AgentService;
use tonic::{Request, Response, Status};

use super::audit::{Audit, Resource};
use super::call::{Context, caller_agent, command, query};
use super::stream::{ResponseStream, open, opening};
use super::{convert, parse};
use crate::app::{CredentialKind, Idempotency, issue_credential};
use crate::domain::Principal;
use crate::domain::control_plane::PanelChange;
use crate::domain::events::{ClickToAct, Scope};
use crate::domain::toasts::ToastKey;

pub struct AgentApi(pub Context);

/// The request id of an agent's request.
fn once<M: prost::Message>(
    caller: AgentId,
    request_id: &str,
    request: &M,
) -> Result<Option<Idempotency>, Status> {
    Ok(Idempotency::of(
        Principal::Agent(caller),
        request_id,
        request,
    )?)
}

#[tonic::async_trait]
impl AgentService for AgentApi {
    async fn get_desk(
        &self,
        request: Request<pb::GetDeskRequest>,
    ) -> Result<Response<pb::GetDeskResponse>, Status> {
        let caller = caller_agent(&request)?;
        let ((desk, widgets), at) = query(&self.0.state, |core| {
            let desk = core.plane.desk(caller).map(convert::desk)?;
            let widgets = core
                .plane
                .widgets(caller)
                .as_ref()
                .map(convert::desk_widgets);
            Ok((desk, widgets))
        })
        .await?;
        Ok(Response::new(pb::GetDeskResponse {
            desk: Some(desk),
            log_id: at.log_id,
            sequence: at.sequence,
            widgets,
        }))
    }

    async fn switch_session(
        &self,
        request: Request<pb::SwitchSessionRequest>,
    ) -> Result<Response<pb::SwitchSessionResponse>, Status> {
        let caller = caller_agent(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let session: SessionId = parse::id("session_id", &request.session_id)?;
        let view = parse::desk_view(request.view)?;
        command(&self.0.state, once, move |plane| {
            let desk = plane.switch_session(caller, session, request.expected_version)?;
            Ok(pb::SwitchSessionResponse {
                desk: Some(convert::desk_as(desk, view)),
                ..Default::default()
            })
        })
        .await
    }

    async fn close_session(
        &self,
        request: Request<pb::CloseSessionRequest>,
    ) -> Result<Response<pb::CloseSessionResponse>, Status> {
        let caller = caller_agent(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let session: SessionId = parse::id("session_id", &request.session_id)?;
        let view = parse::desk_view(request.view)?;
        command(&self.0.state, once, move |plane| {
            let desk = plane.close_session_as_agent(caller, session, request.expected_version)?;
            Ok(pb::CloseSessionResponse {
                desk: Some(convert::desk_as(desk, view)),
                ..Default::default()
            })
        })
        .await
    }

    type SubscribeStream = ResponseStream<pb::AgentServiceSubscribeResponse>;

    async fn subscribe(
        &self,
        request: Request<pb::AgentServiceSubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let caller = caller_agent(&request)?;
        let request = request.into_inner();
        let opening = opening(request.snapshot, &request.log_id, request.after_sequence)?;
        let stream = open(&self.0.state, Scope::Agent(caller), opening).await?;
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
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let tab: TabId = parse::id("tab_id", &request.tab_id)?;
        command(&self.0.state, once, move |plane| {
            let tab = plane.agent_focus_tab(caller, tab)?;
            Ok(pb::AgentServiceFocusTabResponse {
                tab: Some(convert::tab(&tab, true)),
            })
        })
        .await
    }

    async fn close_tab(
        &self,
        request: Request<pb::AgentServiceCloseTabRequest>,
    ) -> Result<Response<pb::AgentServiceCloseTabResponse>, Status> {
        let caller = caller_agent(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let tab: TabId = parse::id("tab_id", &request.tab_id)?;
        command(&self.0.state, once, move |plane| {
            let session = plane.agent_close_tab(caller, tab).map(convert::session)?;
            Ok(pb::AgentServiceCloseTabResponse {
                session: Some(session),
            })
        })
        .await
    }

    async fn set_mode(
        &self,
        request: Request<pb::AgentServiceSetModeRequest>,
    ) -> Result<Response<pb::AgentServiceSetModeResponse>, Status> {
        let caller = caller_agent(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let mode = parse::panel_mode("mode", request.mode)?;
        command(&self.0.state, once, move |plane| {
            let desk =
                plane.agent_set_panel(caller, PanelChange::Mode(mode), request.expected_version)?;
            Ok(pb::AgentServiceSetModeResponse {
                mode: convert::panel_mode(desk.panel_mode) as i32,
            })
        })
        .await
    }

    async fn set_width(
        &self,
        request: Request<pb::AgentServiceSetWidthRequest>,
    ) -> Result<Response<pb::AgentServiceSetWidthResponse>, Status> {
        let caller = caller_agent(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        command(&self.0.state, once, move |plane| {
            let desk = plane.agent_set_panel(
                caller,
                PanelChange::Width(request.width),
                request.expected_version,
            )?;
            Ok(pb::AgentServiceSetWidthResponse {
                width: desk.panel_width,
            })
        })
        .await
    }

    async fn respond_to_notification(
        &self,
        request: Request<pb::RespondToNotificationRequest>,
    ) -> Result<Response<pb::RespondToNotificationResponse>, Status> {
        let caller = caller_agent(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let key = ToastKey {
            provider: parse::id("provider_id", &request.provider_id)?,
            id: parse::id("notification_id", &request.notification_id)?,
        };
        command(&self.0.state, once, move |plane| {
            let resolution =
                plane.respond_to_toast(caller, key, request.accept, SystemTime::now())?;
            Ok(pb::RespondToNotificationResponse {
                result: Some(convert::notification_result(key, resolution)),
            })
        })
        .await
    }

    async fn set_presence(
        &self,
        request: Request<pb::AgentServiceSetPresenceRequest>,
    ) -> Result<Response<pb::AgentServiceSetPresenceResponse>, Status> {
        let caller = caller_agent(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        command(&self.0.state, once, move |plane| {
            let presence =
                plane.agent_set_presence(caller, &request.presence_id, request.expected_version)?;
            Ok(pb::AgentServiceSetPresenceResponse {
                presence: Some(convert::presence(&presence)),
            })
        })
        .await
    }

    async fn get_presence(
        &self,
        request: Request<pb::AgentServiceGetPresenceRequest>,
    ) -> Result<Response<pb::AgentServiceGetPresenceResponse>, Status> {
        let caller = caller_agent(&request)?;
        let (presence, _) = query(&self.0.state, |core| {
            core.plane
                .desk(caller)
                .map(|desk| desk.desk.presence.as_ref().map(convert::presence))
        })
        .await?;
        Ok(Response::new(pb::AgentServiceGetPresenceResponse {
            presence,
        }))
    }

    async fn list_presences(
        &self,
        _request: Request<pb::AgentServiceListPresencesRequest>,
    ) -> Result<Response<pb::AgentServiceListPresencesResponse>, Status> {
        let (presences, _) = query(&self.0.state, |core| {
            Ok(core.plane.presences().map(convert::presence).collect())
        })
        .await?;
        Ok(Response::new(pb::AgentServiceListPresencesResponse {
            presences,
        }))
    }

    async fn click_to_act(
        &self,
        request: Request<pb::ClickToActRequest>,
    ) -> Result<Response<pb::ClickToActResponse>, Status> {
        let caller = caller_agent(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let click = ClickToAct {
            value: request.value,
            name: request.name,
            format: request.format,
            entity_logical_name: request.entity_logical_name,
        };
        command(&self.0.state, once, move |plane| {
            let provider = plane.click_to_act(caller, click)?;
            Ok(pb::ClickToActResponse {
                provider_id: provider.to_string(),
            })
        })
        .await
    }

    async fn raise_event(
        &self,
        request: Request<pb::AgentServiceRaiseEventRequest>,
    ) -> Result<Response<pb::AgentServiceRaiseEventResponse>, Status> {
        let caller = caller_agent(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let to = parse::optional_id("provider_id", &request.provider_id)?;
        command(&self.0.state, once, move |plane| {
            let provider = plane.agent_raise_event(caller, to, request.name, request.payload)?;
            Ok(pb::AgentServiceRaiseEventResponse {
                provider_id: provider.to_string(),
            })
        })
        .await
    }

    async fn issue_widget_credential(
        &self,
        request: Request<pb::IssueWidgetCredentialRequest>,
    ) -> Result<Response<pb::IssueWidgetCredentialResponse>, Status> {
        let caller = caller_agent(&request)?;
        let audit = Audit::of(&request, "IssueWidgetCredential")?;
        let provider: ProviderId = parse::id("provider_id", &request.get_ref().provider_id)?;
        let (credential, hash) = issue_credential(CredentialKind::Widget);
        command(&self.0.state, None, move |plane| {
            // A desk renews its widgets' credentials every few minutes: the trail keeps the
            // first, while the desk held none for that provider, not each renewal.
            let resource = Resource::WidgetCredential {
                agent: caller,
                provider,
            };
            let renewal = plane
                .widget_credentials(caller, SystemTime::now())
                .is_ok_and(|held| held.iter().any(|(held, _)| *held == provider));
            let expires =
                plane.issue_widget_credential(caller, provider, hash, SystemTime::now())?;
            if !renewal {
                audit.created(plane, &resource);
            }
            Ok(pb::IssueWidgetCredentialResponse {
                credential,
                expire_time: Some(convert::timestamp(expires)),
            })
        })
        .await
    }

    async fn revoke_widget_credentials(
        &self,
        request: Request<pb::RevokeWidgetCredentialsRequest>,
    ) -> Result<Response<pb::RevokeWidgetCredentialsResponse>, Status> {
        let caller = caller_agent(&request)?;
        let audit = Audit::of(&request, "RevokeWidgetCredentials")?;
        command(&self.0.state, None, move |plane| {
            // Each credential the desk held, as it was before it is revoked.
            let held: Vec<_> = plane
                .widget_credentials(caller, SystemTime::now())?
                .into_iter()
                .map(|(provider, _)| {
                    let resource = Resource::WidgetCredential {
                        agent: caller,
                        provider,
                    };
                    let before = resource.snapshot(plane);
                    (resource, before)
                })
                .collect();
            let revoked = plane.revoke_widget_credentials(caller)?;
            for (resource, before) in held {
                audit.removed(plane, &resource, before);
            }
            Ok(pb::RevokeWidgetCredentialsResponse {
                revoked: u32::try_from(revoked).unwrap_or(u32::MAX),
            })
        })
        .await
    }
}
