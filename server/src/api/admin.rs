//! `cif.v1.AdminService`.

use cif_sdk::ids::{AgentId, ProviderId, SessionId};
use cif_sdk::pb;
use cif_sdk::pb::admin_service_server::AdminService;
use tonic::{Request, Response, Status};

use super::audit::{self, Audit, Resource};
use super::call::{Context, caller_operator, command, operator_once as once, query};
use super::page_token::page_size;
use super::stream::{ResponseStream, open, opening};
use super::{convert, operator_credentials, parse, templates};
use crate::app::{CredentialKind, issue_credential};
use crate::domain::control_plane::SessionFilter;
use crate::domain::events::Scope;

pub struct AdminApi(pub Context);

/// The request id of an operator's request.
#[tonic::async_trait]
impl AdminService for AdminApi {
    async fn list_widget_credentials(
        &self,
        request: Request<pb::ListWidgetCredentialsRequest>,
    ) -> Result<Response<pb::ListWidgetCredentialsResponse>, Status> {
        let agent: AgentId = parse::id("agent_id", &request.get_ref().agent_id)?;
        let (held, _) = query(&self.0.state, |core| {
            core.plane
                .widget_credentials(agent, std::time::SystemTime::now())
        })
        .await?;
        Ok(Response::new(pb::ListWidgetCredentialsResponse {
            widget_credentials: held
                .into_iter()
                .map(|(provider, expires)| pb::WidgetCredential {
                    agent_id: agent.to_string(),
                    provider_id: provider.to_string(),
                    expire_time: Some(convert::timestamp(expires)),
                })
                .collect(),
        }))
    }

    async fn create_operator_credential(
        &self,
        request: Request<pb::CreateOperatorCredentialRequest>,
    ) -> Result<Response<pb::CreateOperatorCredentialResponse>, Status> {
        let audit = Audit::of(&request, "CreateOperatorCredential")?;
        operator_credentials::create(&self.0, audit, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_operator_credentials(
        &self,
        request: Request<pb::ListOperatorCredentialsRequest>,
    ) -> Result<Response<pb::ListOperatorCredentialsResponse>, Status> {
        operator_credentials::list(&self.0, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_refusal_counts(
        &self,
        request: Request<pb::ListRefusalCountsRequest>,
    ) -> Result<Response<pb::ListRefusalCountsResponse>, Status> {
        audit::list_refusals(&self.0, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_audit_entries(
        &self,
        request: Request<pb::ListAuditEntriesRequest>,
    ) -> Result<Response<pb::ListAuditEntriesResponse>, Status> {
        audit::list(&self.0, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn revoke_operator_credential(
        &self,
        request: Request<pb::RevokeOperatorCredentialRequest>,
    ) -> Result<Response<pb::RevokeOperatorCredentialResponse>, Status> {
        let audit = Audit::of(&request, "RevokeOperatorCredential")?;
        operator_credentials::revoke(&self.0, audit, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_server_info(
        &self,
        _request: Request<pb::GetServerInfoRequest>,
    ) -> Result<Response<pb::GetServerInfoResponse>, Status> {
        let ((), at) = query(&self.0.state, |_| Ok(())).await?;
        Ok(Response::new(pb::GetServerInfoResponse {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            api_version: super::call::API_VERSION.to_owned(),
            cif_version: super::call::CIF_VERSION.to_owned(),
            start_time: Some(convert::timestamp(self.0.started)),
            log_id: at.log_id,
            sequence: at.sequence,
        }))
    }

    // === providers ===

    async fn create_provider(
        &self,
        request: Request<pb::CreateProviderRequest>,
    ) -> Result<Response<pb::CreateProviderResponse>, Status> {
        let audit = Audit::of(&request, "CreateProvider")?;
        let request = request.into_inner();
        let once = once(&request.request_id, &request)?;
        let provider = parse::required("provider", request.provider)?;
        let new = parse::new_provider(provider)?;
        let (credential, hash) = issue_credential(CredentialKind::Provider);
        let response = command(&self.0.state, once, move |plane| {
            let record = plane.create_provider(new, hash)?;
            audit.created(plane, &Resource::Provider(record.id));
            Ok(pb::CreateProviderResponse {
                provider: Some(convert::provider(&record)),
                credential,
            })
        })
        .await?;
        if let Some(provider) = &response.get_ref().provider {
            tracing::info!(provider = %provider.id, unique_name = provider.unique_name, "provider created");
        }
        Ok(response)
    }

    async fn get_provider(
        &self,
        request: Request<pb::GetProviderRequest>,
    ) -> Result<Response<pb::GetProviderResponse>, Status> {
        let id: ProviderId = parse::id("provider_id", &request.get_ref().provider_id)?;
        let (provider, _) = query(&self.0.state, |core| {
            core.plane.provider(id).map(convert::provider)
        })
        .await?;
        Ok(Response::new(pb::GetProviderResponse {
            provider: Some(provider),
        }))
    }

    async fn list_providers(
        &self,
        request: Request<pb::ListProvidersRequest>,
    ) -> Result<Response<pb::ListProvidersResponse>, Status> {
        let request = request.into_inner();
        let limit = page_size(request.page_size)?;
        let key = "admin.providers";
        let after = self.0.page_tokens.read(key, &request.page_token)?;
        let ((providers, next), _) = query(&self.0.state, |core| {
            let page = core
                .plane
                .providers(after.map(ProviderId::from_uuid), limit);
            Ok((
                page.items.into_iter().map(convert::provider).collect(),
                page.next,
            ))
        })
        .await?;
        Ok(Response::new(pb::ListProvidersResponse {
            providers,
            next_page_token: next
                .map(|next| self.0.page_tokens.issue(key, next.as_uuid()))
                .unwrap_or_default(),
        }))
    }

    async fn update_provider(
        &self,
        request: Request<pb::UpdateProviderRequest>,
    ) -> Result<Response<pb::UpdateProviderResponse>, Status> {
        let audit = Audit::of(&request, "UpdateProvider")?;
        let request = request.into_inner();
        let once = once(&request.request_id, &request)?;
        let provider = parse::required("provider", request.provider)?;
        let id: ProviderId = parse::id("provider.id", &provider.id)?;
        let patch = parse::provider_patch(provider, request.update_mask)?;
        command(&self.0.state, once, move |plane| {
            let record = audit.change(plane, &Resource::Provider(id), |plane| {
                plane.update_provider(id, patch)
            })?;
            Ok(pb::UpdateProviderResponse {
                provider: Some(convert::provider(&record)),
            })
        })
        .await
    }

    async fn activate_provider(
        &self,
        request: Request<pb::ActivateProviderRequest>,
    ) -> Result<Response<pb::ActivateProviderResponse>, Status> {
        let audit = Audit::of(&request, "ActivateProvider")?;
        let request = request.into_inner();
        let once = once(&request.request_id, &request)?;
        let id: ProviderId = parse::id("provider_id", &request.provider_id)?;
        let response = command(&self.0.state, once, move |plane| {
            let record = audit.change(plane, &Resource::Provider(id), |plane| {
                plane.set_provider_active(id, true)
            })?;
            Ok(pb::ActivateProviderResponse {
                provider: Some(convert::provider(&record)),
            })
        })
        .await?;
        tracing::info!(provider = %id, "provider activated");
        Ok(response)
    }

    async fn deactivate_provider(
        &self,
        request: Request<pb::DeactivateProviderRequest>,
    ) -> Result<Response<pb::DeactivateProviderResponse>, Status> {
        let audit = Audit::of(&request, "DeactivateProvider")?;
        let request = request.into_inner();
        let once = once(&request.request_id, &request)?;
        let id: ProviderId = parse::id("provider_id", &request.provider_id)?;
        let response = command(&self.0.state, once, move |plane| {
            let record = audit.change(plane, &Resource::Provider(id), |plane| {
                plane.set_provider_active(id, false)
            })?;
            Ok(pb::DeactivateProviderResponse {
                provider: Some(convert::provider(&record)),
            })
        })
        .await?;
        tracing::info!(provider = %id, "provider deactivated");
        Ok(response)
    }

    async fn delete_provider(
        &self,
        request: Request<pb::DeleteProviderRequest>,
    ) -> Result<Response<pb::DeleteProviderResponse>, Status> {
        let audit = Audit::of(&request, "DeleteProvider")?;
        let request = request.into_inner();
        let once = once(&request.request_id, &request)?;
        let id: ProviderId = parse::id("provider_id", &request.provider_id)?;
        let response = command(&self.0.state, once, move |plane| {
            audit.change(plane, &Resource::Provider(id), |plane| {
                plane.delete_provider(id)
            })?;
            Ok(pb::DeleteProviderResponse {})
        })
        .await?;
        tracing::info!(provider = %id, "provider deleted, credential revoked");
        Ok(response)
    }

    async fn rotate_provider_credential(
        &self,
        request: Request<pb::RotateProviderCredentialRequest>,
    ) -> Result<Response<pb::RotateProviderCredentialResponse>, Status> {
        let audit = Audit::of(&request, "RotateProviderCredential")?;
        let request = request.into_inner();
        let once = once(&request.request_id, &request)?;
        let id: ProviderId = parse::id("provider_id", &request.provider_id)?;
        let (credential, hash) = issue_credential(CredentialKind::Provider);
        let response = command(&self.0.state, once, move |plane| {
            audit.change(plane, &Resource::Provider(id), |plane| {
                plane.rotate_provider_credential(id, hash)
            })?;
            Ok(pb::RotateProviderCredentialResponse { credential })
        })
        .await?;
        tracing::info!(provider = %id, "provider credential rotated");
        Ok(response)
    }

    // === agents ===

    async fn create_agent(
        &self,
        request: Request<pb::CreateAgentRequest>,
    ) -> Result<Response<pb::CreateAgentResponse>, Status> {
        let audit = Audit::of(&request, "CreateAgent")?;
        let request = request.into_inner();
        let once = once(&request.request_id, &request)?;
        let agent = parse::required("agent", request.agent)?;
        let new = parse::new_agent(agent)?;
        let (credential, hash) = issue_credential(CredentialKind::Agent);
        let response = command(&self.0.state, once, move |plane| {
            let record = plane.create_agent(new, hash)?;
            audit.created(plane, &Resource::Agent(record.id));
            Ok(pb::CreateAgentResponse {
                agent: Some(convert::agent(&record)),
                credential,
            })
        })
        .await?;
        if let Some(agent) = &response.get_ref().agent {
            tracing::info!(agent = %agent.id, "agent created");
        }
        Ok(response)
    }

    async fn get_agent(
        &self,
        request: Request<pb::GetAgentRequest>,
    ) -> Result<Response<pb::GetAgentResponse>, Status> {
        let id: AgentId = parse::id("agent_id", &request.get_ref().agent_id)?;
        let (agent, _) = query(&self.0.state, |core| {
            core.plane.agent_record(id).map(convert::agent)
        })
        .await?;
        Ok(Response::new(pb::GetAgentResponse { agent: Some(agent) }))
    }

    async fn list_agents(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        let request = request.into_inner();
        let limit = page_size(request.page_size)?;
        let key = "admin.agents";
        let after = self.0.page_tokens.read(key, &request.page_token)?;
        let ((agents, next), _) = query(&self.0.state, |core| {
            let page = core.plane.agents(after.map(AgentId::from_uuid), limit);
            Ok((
                page.items.into_iter().map(convert::agent).collect(),
                page.next,
            ))
        })
        .await?;
        Ok(Response::new(pb::ListAgentsResponse {
            agents,
            next_page_token: next
                .map(|next| self.0.page_tokens.issue(key, next.as_uuid()))
                .unwrap_or_default(),
        }))
    }

    async fn update_agent(
        &self,
        request: Request<pb::UpdateAgentRequest>,
    ) -> Result<Response<pb::UpdateAgentResponse>, Status> {
        let audit = Audit::of(&request, "UpdateAgent")?;
        let request = request.into_inner();
        let once = once(&request.request_id, &request)?;
        let agent = parse::required("agent", request.agent)?;
        let id: AgentId = parse::id("agent.id", &agent.id)?;
        let patch = parse::agent_patch(agent, request.update_mask)?;
        command(&self.0.state, once, move |plane| {
            let record = audit.change(plane, &Resource::Agent(id), |plane| {
                plane.update_agent(id, patch)
            })?;
            Ok(pb::UpdateAgentResponse {
                agent: Some(convert::agent(&record)),
            })
        })
        .await
    }

    async fn delete_agent(
        &self,
        request: Request<pb::DeleteAgentRequest>,
    ) -> Result<Response<pb::DeleteAgentResponse>, Status> {
        let audit = Audit::of(&request, "DeleteAgent")?;
        let request = request.into_inner();
        let once = once(&request.request_id, &request)?;
        let id: AgentId = parse::id("agent_id", &request.agent_id)?;
        let force = request.force;
        let response = command(&self.0.state, once, move |plane| {
            let closed = audit.change(plane, &Resource::Agent(id), |plane| {
                plane.delete_agent(id, force)
            })?;
            tracing::info!(agent = %id, closed_sessions = closed.len(), "agent deleted, credential revoked");
            Ok(pb::DeleteAgentResponse {})
        })
        .await?;
        Ok(response)
    }

    async fn rotate_agent_credential(
        &self,
        request: Request<pb::RotateAgentCredentialRequest>,
    ) -> Result<Response<pb::RotateAgentCredentialResponse>, Status> {
        let audit = Audit::of(&request, "RotateAgentCredential")?;
        let request = request.into_inner();
        let once = once(&request.request_id, &request)?;
        let id: AgentId = parse::id("agent_id", &request.agent_id)?;
        let (credential, hash) = issue_credential(CredentialKind::Agent);
        let response = command(&self.0.state, once, move |plane| {
            audit.change(plane, &Resource::Agent(id), |plane| {
                plane.rotate_agent_credential(id, hash)
            })?;
            Ok(pb::RotateAgentCredentialResponse { credential })
        })
        .await?;
        tracing::info!(agent = %id, "agent credential rotated");
        Ok(response)
    }

    // === desks and sessions ===

    async fn get_desk(
        &self,
        request: Request<pb::AdminServiceGetDeskRequest>,
    ) -> Result<Response<pb::AdminServiceGetDeskResponse>, Status> {
        let id: AgentId = parse::id("agent_id", &request.get_ref().agent_id)?;
        let (desk, at) =
            query(&self.0.state, |core| core.plane.desk(id).map(convert::desk)).await?;
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
        let (session, at) = query(&self.0.state, |core| {
            core.plane.session(id).map(convert::session)
        })
        .await?;
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
        let key = format!(
            "admin.sessions agent={} provider={} closed={}",
            request.agent_id, request.provider_id, request.show_closed
        );
        let after = self.0.page_tokens.read(&key, &request.page_token)?;
        let ((sessions, next), at) = query(&self.0.state, |core| {
            let page = core
                .plane
                .sessions(filter, after.map(SessionId::from_uuid), limit);
            Ok((
                page.items
                    .into_iter()
                    .map(convert::session)
                    .collect::<Vec<_>>(),
                page.next,
            ))
        })
        .await?;
        Ok(Response::new(pb::AdminServiceListSessionsResponse {
            next_page_token: next
                .map(|next| self.0.page_tokens.issue(&key, next.as_uuid()))
                .unwrap_or_default(),
            sessions,
            log_id: at.log_id,
            sequence: at.sequence,
        }))
    }

    type WatchStream = ResponseStream<pb::WatchResponse>;

    async fn watch(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let operator = caller_operator(&request)?;
        let request = request.into_inner();
        let opening = opening(request.snapshot, &request.log_id, request.after_sequence)?;
        let stream = open(&self.0.state, Scope::Everything(operator), opening).await?;
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
        let audit = Audit::of(&request, "CreatePresence")?;
        let request = request.into_inner();
        let once = once(&request.request_id, &request)?;
        let presence = parse::required("presence", request.presence)?;
        let presence = parse::presence(presence)?;
        command(&self.0.state, once, move |plane| {
            let presence = plane.create_presence(presence)?;
            audit.created(plane, &Resource::Presence(presence.id.clone()));
            Ok(pb::CreatePresenceResponse {
                presence: Some(convert::presence(&presence)),
            })
        })
        .await
    }

    async fn list_presences(
        &self,
        _request: Request<pb::ListPresencesRequest>,
    ) -> Result<Response<pb::ListPresencesResponse>, Status> {
        let (presences, _) = query(&self.0.state, |core| {
            Ok(core.plane.presences().map(convert::presence).collect())
        })
        .await?;
        Ok(Response::new(pb::ListPresencesResponse { presences }))
    }

    async fn update_presence(
        &self,
        request: Request<pb::UpdatePresenceRequest>,
    ) -> Result<Response<pb::UpdatePresenceResponse>, Status> {
        let audit = Audit::of(&request, "UpdatePresence")?;
        let request = request.into_inner();
        let once = once(&request.request_id, &request)?;
        let presence = parse::required("presence", request.presence)?;
        let id = presence.presence_id.clone();
        let patch = parse::presence_patch(presence, request.update_mask)?;
        command(&self.0.state, once, move |plane| {
            let presence = audit.change(plane, &Resource::Presence(id.clone()), |plane| {
                plane.update_presence(&id, patch)
            })?;
            Ok(pb::UpdatePresenceResponse {
                presence: Some(convert::presence(&presence)),
            })
        })
        .await
    }

    async fn delete_presence(
        &self,
        request: Request<pb::DeletePresenceRequest>,
    ) -> Result<Response<pb::DeletePresenceResponse>, Status> {
        let audit = Audit::of(&request, "DeletePresence")?;
        let request = request.into_inner();
        let once = once(&request.request_id, &request)?;
        let id = request.presence_id;
        command(&self.0.state, once, move |plane| {
            audit.change(plane, &Resource::Presence(id.clone()), |plane| {
                plane.delete_presence(&id)
            })?;
            Ok(pb::DeletePresenceResponse {})
        })
        .await
    }

    // === templates (rule 15) ===

    async fn create_session_template(
        &self,
        request: Request<pb::CreateSessionTemplateRequest>,
    ) -> Result<Response<pb::CreateSessionTemplateResponse>, Status> {
        let audit = Audit::of(&request, "CreateSessionTemplate")?;
        let request = request.into_inner();
        let message = request.session_template.clone();
        templates::create(
            &self.0,
            audit,
            message,
            &request.request_id,
            &request,
            |session_template| pb::CreateSessionTemplateResponse {
                session_template: Some(session_template),
            },
        )
        .await
    }

    async fn get_session_template(
        &self,
        request: Request<pb::GetSessionTemplateRequest>,
    ) -> Result<Response<pb::GetSessionTemplateResponse>, Status> {
        let session_template = templates::get(&self.0, &request.into_inner().unique_name).await?;
        Ok(Response::new(pb::GetSessionTemplateResponse {
            session_template: Some(session_template),
        }))
    }

    async fn list_session_templates(
        &self,
        request: Request<pb::ListSessionTemplatesRequest>,
    ) -> Result<Response<pb::ListSessionTemplatesResponse>, Status> {
        let request = request.into_inner();
        let (session_templates, next_page_token) =
            templates::list(&self.0, request.page_size, &request.page_token).await?;
        Ok(Response::new(pb::ListSessionTemplatesResponse {
            session_templates,
            next_page_token,
        }))
    }

    async fn update_session_template(
        &self,
        request: Request<pb::UpdateSessionTemplateRequest>,
    ) -> Result<Response<pb::UpdateSessionTemplateResponse>, Status> {
        let audit = Audit::of(&request, "UpdateSessionTemplate")?;
        let request = request.into_inner();
        let (message, mask) = (
            request.session_template.clone(),
            request.update_mask.clone(),
        );
        templates::update(
            &self.0,
            audit,
            message,
            mask,
            &request.request_id,
            &request,
            |session_template| pb::UpdateSessionTemplateResponse {
                session_template: Some(session_template),
            },
        )
        .await
    }

    async fn delete_session_template(
        &self,
        request: Request<pb::DeleteSessionTemplateRequest>,
    ) -> Result<Response<pb::DeleteSessionTemplateResponse>, Status> {
        let audit = Audit::of(&request, "DeleteSessionTemplate")?;
        let request = request.into_inner();
        let name = request.unique_name.clone();
        templates::delete::<pb::SessionTemplate, _>(
            &self.0,
            audit,
            name,
            &request.request_id,
            &request,
            pb::DeleteSessionTemplateResponse {},
        )
        .await
    }

    async fn create_tab_template(
        &self,
        request: Request<pb::CreateTabTemplateRequest>,
    ) -> Result<Response<pb::CreateTabTemplateResponse>, Status> {
        let audit = Audit::of(&request, "CreateTabTemplate")?;
        let request = request.into_inner();
        let message = request.tab_template.clone();
        templates::create(
            &self.0,
            audit,
            message,
            &request.request_id,
            &request,
            |tab_template| pb::CreateTabTemplateResponse {
                tab_template: Some(tab_template),
            },
        )
        .await
    }

    async fn get_tab_template(
        &self,
        request: Request<pb::GetTabTemplateRequest>,
    ) -> Result<Response<pb::GetTabTemplateResponse>, Status> {
        let tab_template = templates::get(&self.0, &request.into_inner().unique_name).await?;
        Ok(Response::new(pb::GetTabTemplateResponse {
            tab_template: Some(tab_template),
        }))
    }

    async fn list_tab_templates(
        &self,
        request: Request<pb::ListTabTemplatesRequest>,
    ) -> Result<Response<pb::ListTabTemplatesResponse>, Status> {
        let request = request.into_inner();
        let (tab_templates, next_page_token) =
            templates::list(&self.0, request.page_size, &request.page_token).await?;
        Ok(Response::new(pb::ListTabTemplatesResponse {
            tab_templates,
            next_page_token,
        }))
    }

    async fn update_tab_template(
        &self,
        request: Request<pb::UpdateTabTemplateRequest>,
    ) -> Result<Response<pb::UpdateTabTemplateResponse>, Status> {
        let audit = Audit::of(&request, "UpdateTabTemplate")?;
        let request = request.into_inner();
        let (message, mask) = (request.tab_template.clone(), request.update_mask.clone());
        templates::update(
            &self.0,
            audit,
            message,
            mask,
            &request.request_id,
            &request,
            |tab_template| pb::UpdateTabTemplateResponse {
                tab_template: Some(tab_template),
            },
        )
        .await
    }

    async fn delete_tab_template(
        &self,
        request: Request<pb::DeleteTabTemplateRequest>,
    ) -> Result<Response<pb::DeleteTabTemplateResponse>, Status> {
        let audit = Audit::of(&request, "DeleteTabTemplate")?;
        let request = request.into_inner();
        let name = request.unique_name.clone();
        templates::delete::<pb::TabTemplate, _>(
            &self.0,
            audit,
            name,
            &request.request_id,
            &request,
            pb::DeleteTabTemplateResponse {},
        )
        .await
    }

    async fn create_notification_template(
        &self,
        request: Request<pb::CreateNotificationTemplateRequest>,
    ) -> Result<Response<pb::CreateNotificationTemplateResponse>, Status> {
        let audit = Audit::of(&request, "CreateNotificationTemplate")?;
        let request = request.into_inner();
        let message = request.notification_template.clone();
        templates::create(
            &self.0,
            audit,
            message,
            &request.request_id,
            &request,
            |notification_template| pb::CreateNotificationTemplateResponse {
                notification_template: Some(notification_template),
            },
        )
        .await
    }

    async fn get_notification_template(
        &self,
        request: Request<pb::GetNotificationTemplateRequest>,
    ) -> Result<Response<pb::GetNotificationTemplateResponse>, Status> {
        let notification_template =
            templates::get(&self.0, &request.into_inner().unique_name).await?;
        Ok(Response::new(pb::GetNotificationTemplateResponse {
            notification_template: Some(notification_template),
        }))
    }

    async fn list_notification_templates(
        &self,
        request: Request<pb::ListNotificationTemplatesRequest>,
    ) -> Result<Response<pb::ListNotificationTemplatesResponse>, Status> {
        let request = request.into_inner();
        let (notification_templates, next_page_token) =
            templates::list(&self.0, request.page_size, &request.page_token).await?;
        Ok(Response::new(pb::ListNotificationTemplatesResponse {
            notification_templates,
            next_page_token,
        }))
    }

    async fn update_notification_template(
        &self,
        request: Request<pb::UpdateNotificationTemplateRequest>,
    ) -> Result<Response<pb::UpdateNotificationTemplateResponse>, Status> {
        let audit = Audit::of(&request, "UpdateNotificationTemplate")?;
        let request = request.into_inner();
        let (message, mask) = (
            request.notification_template.clone(),
            request.update_mask.clone(),
        );
        templates::update(
            &self.0,
            audit,
            message,
            mask,
            &request.request_id,
            &request,
            |notification_template| pb::UpdateNotificationTemplateResponse {
                notification_template: Some(notification_template),
            },
        )
        .await
    }

    async fn delete_notification_template(
        &self,
        request: Request<pb::DeleteNotificationTemplateRequest>,
    ) -> Result<Response<pb::DeleteNotificationTemplateResponse>, Status> {
        let audit = Audit::of(&request, "DeleteNotificationTemplate")?;
        let request = request.into_inner();
        let name = request.unique_name.clone();
        templates::delete::<pb::NotificationTemplate, _>(
            &self.0,
            audit,
            name,
            &request.request_id,
            &request,
            pb::DeleteNotificationTemplateResponse {},
        )
        .await
    }
}
