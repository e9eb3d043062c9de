//! `cif.v1.ProviderService`.

use std::time::{Duration, Instant, SystemTime};

use cif_sdk::ids::{AgentId, NotificationId, SessionId, TabId};
use cif_sdk::pb;
use cif_sdk::pb::provider_service_server::ProviderService;
use tonic::{Request, Response, Status};

use super::call::{Context, caller_provider, command, query};
use super::page_token::page_size;
use super::status::to_status;
use super::stream::{ResponseStream, agent_filter, open, opening};
use super::{convert, parse};
use crate::app::{Idempotency, write};
use crate::domain::control_plane::{FocusedSession, Marked, NewSession, PanelChange};
use crate::domain::desks::NewTab;
use crate::domain::events::Scope;
use crate::domain::principal::ProviderCaller;
use crate::domain::toasts::{Raised, ToastKey};
use crate::domain::{DomainError, Reason};

pub struct ProviderApi(pub Context);

/// The request id of a provider's request.
fn once<M: prost::Message>(
    caller: ProviderCaller,
    request_id: &str,
    request: &M,
) -> Result<Option<Idempotency>, Status> {
    // A widget's request ids are its own: it cannot replay its provider's answers.
    Ok(Idempotency::of(caller.principal(), request_id, request)?)
}

#[tonic::async_trait]
impl ProviderService for ProviderApi {
    async fn create_session(
        &self,
        request: Request<pb::CreateSessionRequest>,
    ) -> Result<Response<pb::CreateSessionResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let new = NewSession {
            agent: parse::id("agent_id", &request.agent_id)?,
            template: request.template,
            title: request.title,
            parameters: request.parameters,
            context: request.context,
            tab_parameters: request
                .tab_parameters
                .into_iter()
                .map(|(name, parameters)| (name, parameters.values))
                .collect(),
        };
        command(&self.0.state, once, move |plane| {
            plane
                .create_session(caller, new)
                .map(|view| pb::CreateSessionResponse {
                    session: Some(convert::session(view)),
                    ..Default::default()
                })
        })
        .await
    }

    async fn can_create_session(
        &self,
        request: Request<pb::CanCreateSessionRequest>,
    ) -> Result<Response<pb::CanCreateSessionResponse>, Status> {
        let caller = caller_provider(&request)?;
        let agent: AgentId = parse::id("agent_id", &request.get_ref().agent_id)?;
        let (room, _) = query(&self.0.state, |core| {
            core.plane.can_create_session(caller, agent)
        })
        .await?;
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
        let (session, at) = query(&self.0.state, |core| {
            core.plane
                .provider_session(caller, id)
                .map(convert::session)
        })
        .await?;
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
        let query_key = format!(
            "provider.sessions caller={caller} agent={} closed={}",
            request.agent_id, request.show_closed
        );
        let after = self.0.page_tokens.read(&query_key, &request.page_token)?;
        let ((sessions, next), at) = query(&self.0.state, |core| {
            let page = core.plane.provider_sessions(
                caller,
                agent,
                request.show_closed,
                after.map(SessionId::from_uuid),
                limit,
            )?;
            Ok((
                page.items
                    .into_iter()
                    .map(convert::session)
                    .collect::<Vec<_>>(),
                page.next,
            ))
        })
        .await?;
        Ok(Response::new(pb::ListSessionsResponse {
            next_page_token: next
                .map(|next| self.0.page_tokens.issue(&query_key, next.as_uuid()))
                .unwrap_or_default(),
            sessions,
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
        let (focused, _) = query(&self.0.state, |core| {
            core.plane.focused_session(caller, agent)
        })
        .await?;
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
        caller.check_may_subscribe()?;
        let request = request.into_inner();
        let agents = agent_filter(&request.agent_ids)?;
        let opening = opening(request.snapshot, &request.log_id, request.after_sequence)?;
        let scope = Scope::Provider {
            provider: caller.provider,
            agents,
        };
        let stream = open(&self.0.state, scope, opening).await?;
        Ok(Response::new(stream.into_responses(|message| {
            pb::SubscribeResponse {
                message: Some(message),
            }
        })))
    }

    // === marks, title, context (rules 7 and 14) ===

    async fn request_focus_session(
        &self,
        request: Request<pb::RequestFocusSessionRequest>,
    ) -> Result<Response<pb::RequestFocusSessionResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let session: SessionId = parse::id("session_id", &request.session_id)?;
        command(&self.0.state, once, move |plane| {
            let marked = plane.request_focus_session(
                caller,
                session,
                request.expected_version,
                request.messages_count,
            )?;
            Ok(pb::RequestFocusSessionResponse {
                session: Some(convert::session(plane.provider_session(caller, session)?)),
                already_focused: marked == Marked::AlreadyFocused,
            })
        })
        .await
    }

    async fn notify_new_activity(
        &self,
        request: Request<pb::NotifyNewActivityRequest>,
    ) -> Result<Response<pb::NotifyNewActivityResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let session: SessionId = parse::id("session_id", &request.session_id)?;
        command(&self.0.state, once, move |plane| {
            let marked = plane.notify_new_activity(
                caller,
                session,
                request.expected_version,
                request.count,
            )?;
            Ok(pb::NotifyNewActivityResponse {
                session: Some(convert::session(plane.provider_session(caller, session)?)),
                already_focused: marked == Marked::AlreadyFocused,
            })
        })
        .await
    }

    async fn notify_kpi_breach(
        &self,
        request: Request<pb::NotifyKpiBreachRequest>,
    ) -> Result<Response<pb::NotifyKpiBreachResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let session: SessionId = parse::id("session_id", &request.session_id)?;
        command(&self.0.state, once, move |plane| {
            plane.notify_kpi_breach(
                caller,
                session,
                request.expected_version,
                request.reset,
                request.details,
            )?;
            Ok(pb::NotifyKpiBreachResponse {
                session: Some(convert::session(plane.provider_session(caller, session)?)),
            })
        })
        .await
    }

    async fn set_session_title(
        &self,
        request: Request<pb::SetSessionTitleRequest>,
    ) -> Result<Response<pb::SetSessionTitleResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let session: SessionId = parse::id("session_id", &request.session_id)?;
        command(&self.0.state, once, move |plane| {
            let view = plane.set_session_title(
                caller,
                session,
                request.expected_version,
                request.title,
            )?;
            Ok(pb::SetSessionTitleResponse {
                session: Some(convert::session(view)),
            })
        })
        .await
    }

    async fn update_session_context(
        &self,
        request: Request<pb::UpdateSessionContextRequest>,
    ) -> Result<Response<pb::UpdateSessionContextResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let session: SessionId = parse::id("session_id", &request.session_id)?;
        command(&self.0.state, once, move |plane| {
            let view = plane.update_session_context(
                caller,
                session,
                request.expected_version,
                request.set.into_iter().collect(),
                request.delete,
            )?;
            Ok(pb::UpdateSessionContextResponse {
                session: Some(convert::session(view)),
            })
        })
        .await
    }

    // === tabs (rule 3) ===

    async fn create_tab(
        &self,
        request: Request<pb::CreateTabRequest>,
    ) -> Result<Response<pb::CreateTabResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let new = NewTab {
            session: parse::id("session_id", &request.session_id)?,
            page: parse::tab_page(request.page)?,
            template: request.template,
            title: request.title,
            parameters: request.parameters,
            focus: request.focus,
            expected_version: request.expected_version,
        };
        command(&self.0.state, once, move |plane| {
            let (tab, focused) = plane.create_tab(caller, new)?;
            Ok(pb::CreateTabResponse {
                tab: Some(convert::tab(&tab, focused)),
            })
        })
        .await
    }

    async fn list_tabs(
        &self,
        request: Request<pb::ListTabsRequest>,
    ) -> Result<Response<pb::ListTabsResponse>, Status> {
        let caller = caller_provider(&request)?;
        let session: SessionId = parse::id("session_id", &request.get_ref().session_id)?;
        let (view, _) = query(&self.0.state, |core| {
            core.plane
                .provider_session(caller, session)
                .map(convert::session)
        })
        .await?;
        Ok(Response::new(pb::ListTabsResponse { tabs: view.tabs }))
    }

    async fn get_focused_tab(
        &self,
        request: Request<pb::GetFocusedTabRequest>,
    ) -> Result<Response<pb::GetFocusedTabResponse>, Status> {
        let caller = caller_provider(&request)?;
        let session: SessionId = parse::id("session_id", &request.get_ref().session_id)?;
        let (view, _) = query(&self.0.state, |core| {
            core.plane
                .provider_session(caller, session)
                .map(convert::session)
        })
        .await?;
        Ok(Response::new(pb::GetFocusedTabResponse {
            tab: view.tabs.into_iter().find(|tab| tab.focused),
        }))
    }

    async fn focus_tab(
        &self,
        request: Request<pb::FocusTabRequest>,
    ) -> Result<Response<pb::FocusTabResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let tab: TabId = parse::id("tab_id", &request.tab_id)?;
        command(&self.0.state, once, move |plane| {
            let tab = plane.provider_focus_tab(caller, tab)?;
            let focused = plane.tab_focus_shown_to_provider(&tab);
            Ok(pb::FocusTabResponse {
                tab: Some(convert::tab(&tab, focused)),
            })
        })
        .await
    }

    async fn refresh_tab(
        &self,
        request: Request<pb::RefreshTabRequest>,
    ) -> Result<Response<pb::RefreshTabResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let tab: TabId = parse::id("tab_id", &request.tab_id)?;
        command(&self.0.state, once, move |plane| {
            let tab = plane.refresh_tab(caller, tab)?;
            let focused = plane.tab_focus_shown_to_provider(&tab);
            Ok(pb::RefreshTabResponse {
                tab: Some(convert::tab(&tab, focused)),
            })
        })
        .await
    }

    async fn set_tab_title(
        &self,
        request: Request<pb::SetTabTitleRequest>,
    ) -> Result<Response<pb::SetTabTitleResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let tab: TabId = parse::id("tab_id", &request.tab_id)?;
        command(&self.0.state, once, move |plane| {
            let tab = plane.set_tab_title(caller, tab, request.title)?;
            let focused = plane.tab_focus_shown_to_provider(&tab);
            Ok(pb::SetTabTitleResponse {
                tab: Some(convert::tab(&tab, focused)),
            })
        })
        .await
    }

    async fn close_tab(
        &self,
        request: Request<pb::CloseTabRequest>,
    ) -> Result<Response<pb::CloseTabResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let tab: TabId = parse::id("tab_id", &request.tab_id)?;
        command(&self.0.state, once, move |plane| {
            let session = plane
                .provider_close_tab(caller, tab)
                .map(convert::session)?;
            Ok(pb::CloseTabResponse {
                session: Some(session),
            })
        })
        .await
    }

    // === the panel (rule 10) ===

    async fn set_mode(
        &self,
        request: Request<pb::SetModeRequest>,
    ) -> Result<Response<pb::SetModeResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let agent: AgentId = parse::id("agent_id", &request.agent_id)?;
        let mode = parse::panel_mode("mode", request.mode)?;
        // Read only to refuse it: providers have no desk version (rule 19).
        #[allow(deprecated)]
        let expected_version = request.expected_version;
        command(&self.0.state, once, move |plane| {
            let desk = plane.provider_set_panel(
                caller,
                agent,
                PanelChange::Mode(mode),
                expected_version,
            )?;
            Ok(pb::SetModeResponse {
                mode: convert::panel_mode(desk.panel_mode) as i32,
            })
        })
        .await
    }

    async fn get_mode(
        &self,
        request: Request<pb::GetModeRequest>,
    ) -> Result<Response<pb::GetModeResponse>, Status> {
        let caller = caller_provider(&request)?;
        let agent: AgentId = parse::id("agent_id", &request.get_ref().agent_id)?;
        let (mode, _) = query(&self.0.state, |core| {
            core.plane
                .provider_desk(caller, agent)
                .map(|desk| desk.panel_mode)
        })
        .await?;
        Ok(Response::new(pb::GetModeResponse {
            mode: convert::panel_mode(mode) as i32,
        }))
    }

    async fn set_width(
        &self,
        request: Request<pb::SetWidthRequest>,
    ) -> Result<Response<pb::SetWidthResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let agent: AgentId = parse::id("agent_id", &request.agent_id)?;
        // Read only to refuse it: providers have no desk version (rule 19).
        #[allow(deprecated)]
        let expected_version = request.expected_version;
        command(&self.0.state, once, move |plane| {
            let desk = plane.provider_set_panel(
                caller,
                agent,
                PanelChange::Width(request.width),
                expected_version,
            )?;
            Ok(pb::SetWidthResponse {
                width: desk.panel_width,
            })
        })
        .await
    }

    async fn get_width(
        &self,
        request: Request<pb::GetWidthRequest>,
    ) -> Result<Response<pb::GetWidthResponse>, Status> {
        let caller = caller_provider(&request)?;
        let agent: AgentId = parse::id("agent_id", &request.get_ref().agent_id)?;
        let (width, _) = query(&self.0.state, |core| {
            core.plane
                .provider_desk(caller, agent)
                .map(|desk| desk.panel_width)
        })
        .await?;
        Ok(Response::new(pb::GetWidthResponse { width }))
    }

    // === toasts (rule 12) ===

    async fn notify_event(
        &self,
        request: Request<pb::NotifyEventRequest>,
    ) -> Result<Response<pb::NotifyEventResponse>, Status> {
        let caller = caller_provider(&request)?;
        let answer_by = caller_deadline(request.metadata());
        let request = request.into_inner();
        let answer_when_queued = request.answer_when_queued;
        let new = parse::new_toast(request)?;
        let key = ToastKey {
            provider: caller.provider,
            id: new.id,
        };
        let (raised, waiting) = {
            let mut core = write(&self.0.state);
            let committed =
                core.execute(|plane| plane.raise_toast(caller, new, SystemTime::now()))?;
            // Subscribed under the same lock, so the outcome cannot slip by.
            let waiting = (matches!(committed.answer(), Raised::Pending(_)) && !answer_when_queued)
                .then(|| core.wait_for_toast(key));
            (committed, waiting)
        };
        let (raised, _) = raised.confirmed().await?;
        if answer_when_queued && matches!(raised, Raised::Pending(_)) {
            return Ok(Response::new(pb::NotifyEventResponse {
                result: Some(pb::NotificationResult {
                    notification_id: key.id.to_string(),
                    ..Default::default()
                }),
            }));
        }
        let (Raised::Pending(_), Some(mut waiting)) = (raised, waiting) else {
            let Raised::Resolved(resolution) = raised else {
                unreachable!("a pending toast has a waiter");
            };
            return Ok(Response::new(pb::NotifyEventResponse {
                result: Some(convert::notification_result(key, resolution)),
            }));
        };
        // If the caller's deadline comes first, the call ends with DEADLINE_EXCEEDED and the
        // toast stays: a call with the same notification_id waits for it again. The answer is
        // sent a little before the deadline, so it is ours (with its reason) and not the
        // transport's.
        let resolved = waiting.wait_for(Option::is_some);
        let resolved = match answer_by {
            Some(deadline) => match tokio::time::timeout_at(deadline.into(), resolved).await {
                Ok(resolved) => resolved,
                Err(_) => {
                    return Err(to_status(
                        DomainError::new(
                            Reason::NotificationStillPending,
                            format!(
                                "your deadline passed while toast {} was still pending; it stays pending: call NotifyEvent again with the same notification_id to wait for it, or CancelEvent",
                                key.id
                            ),
                        )
                        .with("notification_id", key.id),
                    ));
                }
            },
            None => resolved.await,
        };
        let resolution = resolved
            .ok()
            .and_then(|resolution| *resolution)
            .ok_or_else(|| {
                to_status(DomainError::new(
                    Reason::ServerShuttingDown,
                    "the server is shutting down; call again with the same notification_id to learn the toast's outcome",
                ))
            })?;
        Ok(Response::new(pb::NotifyEventResponse {
            result: Some(convert::notification_result(key, resolution)),
        }))
    }

    async fn cancel_event(
        &self,
        request: Request<pb::CancelEventRequest>,
    ) -> Result<Response<pb::CancelEventResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let id: NotificationId = parse::id("notification_id", &request.notification_id)?;
        command(&self.0.state, once, move |plane| {
            let resolution = plane.cancel_toast(caller, id, SystemTime::now())?;
            Ok(pb::CancelEventResponse {
                result: Some(convert::notification_result(
                    ToastKey {
                        provider: caller.provider,
                        id,
                    },
                    resolution,
                )),
            })
        })
        .await
    }

    // === presence, environment, custom events (rules 13 and 16) ===

    async fn set_presence(
        &self,
        request: Request<pb::SetPresenceRequest>,
    ) -> Result<Response<pb::SetPresenceResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let agent: AgentId = parse::id("agent_id", &request.agent_id)?;
        // Read only to refuse it: providers have no desk version (rule 19).
        #[allow(deprecated)]
        let expected_version = request.expected_version;
        command(&self.0.state, once, move |plane| {
            let presence = plane.provider_set_presence(
                caller,
                agent,
                &request.presence_text,
                expected_version,
            )?;
            Ok(pb::SetPresenceResponse {
                presence: Some(convert::presence(&presence)),
            })
        })
        .await
    }

    async fn set_click_to_act(
        &self,
        request: Request<pb::SetClickToActRequest>,
    ) -> Result<Response<pb::SetClickToActResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let agent: AgentId = parse::id("agent_id", &request.agent_id)?;
        command(&self.0.state, once, move |plane| {
            plane.provider_set_click_to_act(caller, agent, request.enabled)?;
            Ok(pb::SetClickToActResponse {})
        })
        .await
    }

    async fn get_click_to_act(
        &self,
        request: Request<pb::GetClickToActRequest>,
    ) -> Result<Response<pb::GetClickToActResponse>, Status> {
        let caller = caller_provider(&request)?;
        let agent: AgentId = parse::id("agent_id", &request.get_ref().agent_id)?;
        let (enabled, _) = query(&self.0.state, |core| {
            core.plane.provider_click_to_act(caller, agent)
        })
        .await?;
        Ok(Response::new(pb::GetClickToActResponse { enabled }))
    }

    async fn get_presence(
        &self,
        request: Request<pb::GetPresenceRequest>,
    ) -> Result<Response<pb::GetPresenceResponse>, Status> {
        let caller = caller_provider(&request)?;
        let agent: AgentId = parse::id("agent_id", &request.get_ref().agent_id)?;
        let (presence, _) = query(&self.0.state, |core| {
            core.plane
                .provider_desk(caller, agent)
                .map(|desk| desk.presence.as_ref().map(convert::presence))
        })
        .await?;
        Ok(Response::new(pb::GetPresenceResponse { presence }))
    }

    async fn get_environment(
        &self,
        request: Request<pb::GetEnvironmentRequest>,
    ) -> Result<Response<pb::GetEnvironmentResponse>, Status> {
        let caller = caller_provider(&request)?;
        let (environment, _) = query(&self.0.state, |core| {
            let provider = core.plane.provider(caller.provider)?;
            Ok(pb::GetEnvironmentResponse {
                provider_id: provider.id.to_string(),
                unique_name: provider.unique_name.clone(),
                custom_parameters: provider.fields.custom_parameters.clone(),
                cif_version: super::call::CIF_VERSION.to_owned(),
                api_version: super::call::API_VERSION.to_owned(),
                server_version: env!("CARGO_PKG_VERSION").to_owned(),
            })
        })
        .await?;
        Ok(Response::new(environment))
    }

    async fn raise_event(
        &self,
        request: Request<pb::RaiseEventRequest>,
    ) -> Result<Response<pb::RaiseEventResponse>, Status> {
        let caller = caller_provider(&request)?;
        let request = request.into_inner();
        let once = once(caller, &request.request_id, &request)?;
        let agent: AgentId = parse::id("agent_id", &request.agent_id)?;
        command(&self.0.state, once, move |plane| {
            plane.provider_raise_event(caller, agent, request.name, request.payload)?;
            Ok(pb::RaiseEventResponse::default())
        })
        .await
    }
}

/// When to answer a call whose client set a deadline (`grpc-timeout`): shortly before it, so
/// the answer is ours rather than the transport's cancellation.
fn caller_deadline(metadata: &tonic::metadata::MetadataMap) -> Option<Instant> {
    let header = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = header.split_at(header.len().checked_sub(1)?);
    let amount: u64 = digits.parse().ok()?;
    let timeout = match unit {
        "H" => Duration::from_secs(amount.saturating_mul(3600)),
        "M" => Duration::from_secs(amount.saturating_mul(60)),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    };
    let margin = (timeout / 10).min(Duration::from_millis(50));
    Instant::now().checked_add(timeout - margin)
}
