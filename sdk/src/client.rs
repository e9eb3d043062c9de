//! Connected clients: one per role, each sending its credential with every call.

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

use std::sync::Arc;

use tokio_stream::StreamExt;

use crate::Error;
use crate::pb;
use crate::pb::admin_service_client::AdminServiceClient;
use crate::pb::agent_service_client::AgentServiceClient;
use crate::pb::provider_service_client::ProviderServiceClient;
use crate::subscription::{MessageStream, Opener, Start, Subscription};

/// Opens a channel to a cifd at `endpoint` (e.g. `http://127.0.0.1:50051`). The channel is
/// cheap to clone and can carry clients of every role at once.
pub async fn connect(endpoint: impl Into<String>) -> Result<Channel, Error> {
    let endpoint = Endpoint::from_shared(endpoint.into())
        .map_err(|error| Status::invalid_argument(format!("bad endpoint: {error}")))?;
    Ok(endpoint.connect().await?)
}

/// Adds `authorization: Bearer <credential>` to every request.
#[derive(Clone)]
pub struct BearerAuth {
    header: MetadataValue<Ascii>,
}

impl BearerAuth {
    /// Fails when the credential cannot travel in a header (it is not printable ASCII).
    pub fn new(credential: &str) -> Result<Self, Error> {
        let header = format!("Bearer {credential}").parse().map_err(|_| {
            Status::invalid_argument("the credential must be printable ASCII without spaces")
        })?;
        Ok(Self { header })
    }
}

impl Interceptor for BearerAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.header.clone());
        Ok(request)
    }
}

/// A channel that authenticates every call.
pub type AuthenticatedChannel = InterceptedService<Channel, BearerAuth>;

/// Declares a client wrapper: `new`, `generated` (the full generated client) and one async
/// method per listed RPC that returns the response message or an [`Error`].
macro_rules! role_client {
    (
        $(#[$doc:meta])* $name:ident($generated:ident) {
            $($(#[$method_doc:meta])* $method:ident($request:ident) -> $response:ident;)*
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            inner: $generated<AuthenticatedChannel>,
        }

        impl $name {
            /// A client that sends `credential` with every call over `channel`.
            pub fn new(channel: Channel, credential: &str) -> Result<Self, Error> {
                let auth = BearerAuth::new(credential)?;
                Ok(Self { inner: $generated::with_interceptor(channel, auth) })
            }

            /// The generated client, for per-call metadata, deadlines or compression.
            pub fn generated(&self) -> $generated<AuthenticatedChannel> {
                self.inner.clone()
            }

            $(
                $(#[$method_doc])*
                pub async fn $method(&self, request: pb::$request) -> Result<pb::$response, Error> {
                    Ok(self.inner.clone().$method(request).await?.into_inner())
                }
            )*
        }
    };
}

role_client! {
    /// A channel provider's client (`cif.v1.ProviderService`).
    ProviderClient(ProviderServiceClient) {
        /// Starts a session the caller owns and focuses it.
        create_session(CreateSessionRequest) -> CreateSessionResponse;
        /// Tells whether the agent has room for another session.
        can_create_session(CanCreateSessionRequest) -> CanCreateSessionResponse;
        /// Reads one of the caller's sessions.
        get_session(GetSessionRequest) -> GetSessionResponse;
        /// Lists the caller's sessions.
        list_sessions(ListSessionsRequest) -> ListSessionsResponse;
        /// Tells which session has focus, if it is the caller's or home.
        get_focused_session(GetFocusedSessionRequest) -> GetFocusedSessionResponse;
        /// Marks one of the caller's sessions for the agent's attention.
        request_focus_session(RequestFocusSessionRequest) -> RequestFocusSessionResponse;
        /// Marks one of the caller's sessions with new activity.
        notify_new_activity(NotifyNewActivityRequest) -> NotifyNewActivityResponse;
        /// Flags or resets a KPI breach on one of the caller's sessions.
        notify_kpi_breach(NotifyKpiBreachRequest) -> NotifyKpiBreachResponse;
        /// Retitles one of the caller's sessions.
        set_session_title(SetSessionTitleRequest) -> SetSessionTitleResponse;
        /// Sets and deletes context keys of one of the caller's sessions.
        update_session_context(UpdateSessionContextRequest) -> UpdateSessionContextResponse;
        /// Opens a tab.
        create_tab(CreateTabRequest) -> CreateTabResponse;
        /// Lists a session's tabs (in home, the caller's).
        list_tabs(ListTabsRequest) -> ListTabsResponse;
        /// Tells a session's focused tab.
        get_focused_tab(GetFocusedTabRequest) -> GetFocusedTabResponse;
        /// Focuses a tab.
        focus_tab(FocusTabRequest) -> FocusTabResponse;
        /// Asks the desk to reload a tab.
        refresh_tab(RefreshTabRequest) -> RefreshTabResponse;
        /// Retitles a tab.
        set_tab_title(SetTabTitleRequest) -> SetTabTitleResponse;
        /// Closes a tab.
        close_tab(CloseTabRequest) -> CloseTabResponse;
        /// Sets the panel's mode (rule 10).
        set_mode(SetModeRequest) -> SetModeResponse;
        /// Reads the panel's mode.
        get_mode(GetModeRequest) -> GetModeResponse;
        /// Sets the panel's width (rule 10).
        set_width(SetWidthRequest) -> SetWidthResponse;
        /// Reads the panel's width.
        get_width(GetWidthRequest) -> GetWidthResponse;
        /// Shows a toast and waits for its outcome; give the call a deadline, and call again
        /// with the same notification_id to keep waiting.
        notify_event(NotifyEventRequest) -> NotifyEventResponse;
        /// Cancels a pending toast.
        cancel_event(CancelEventRequest) -> CancelEventResponse;
        /// Sets the agent's presence by text.
        set_presence(SetPresenceRequest) -> SetPresenceResponse;
        /// Reads the agent's presence.
        get_presence(GetPresenceRequest) -> GetPresenceResponse;
        /// Reads the caller's environment.
        get_environment(GetEnvironmentRequest) -> GetEnvironmentResponse;
        /// Sends a custom event to an agent's desk.
        raise_event(RaiseEventRequest) -> RaiseEventResponse;
    }
}

role_client! {
    /// An agent desktop's client (`cif.v1.AgentService`).
    AgentClient(AgentServiceClient) {
        /// Reads the caller's desk.
        get_desk(GetDeskRequest) -> GetDeskResponse;
        /// Moves focus to an open session or home.
        switch_session(SwitchSessionRequest) -> SwitchSessionResponse;
        /// Closes an open session.
        close_session(CloseSessionRequest) -> CloseSessionResponse;
        /// Focuses any tab on the desk.
        focus_tab(AgentServiceFocusTabRequest) -> AgentServiceFocusTabResponse;
        /// Closes a tab on the desk.
        close_tab(AgentServiceCloseTabRequest) -> AgentServiceCloseTabResponse;
        /// Sets the panel's mode.
        set_mode(AgentServiceSetModeRequest) -> AgentServiceSetModeResponse;
        /// Sets the panel's width.
        set_width(AgentServiceSetWidthRequest) -> AgentServiceSetWidthResponse;
        /// Accepts or rejects the toast on screen.
        respond_to_notification(RespondToNotificationRequest) -> RespondToNotificationResponse;
        /// Sets the agent's presence by id.
        set_presence(AgentServiceSetPresenceRequest) -> AgentServiceSetPresenceResponse;
        /// Reads the agent's presence.
        get_presence(AgentServiceGetPresenceRequest) -> AgentServiceGetPresenceResponse;
        /// Lists the configured presences.
        list_presences(AgentServiceListPresencesRequest) -> AgentServiceListPresencesResponse;
        /// Reports a click-to-act to the active provider.
        click_to_act(ClickToActRequest) -> ClickToActResponse;
        /// Sends a custom event to a provider.
        raise_event(AgentServiceRaiseEventRequest) -> AgentServiceRaiseEventResponse;
    }
}

role_client! {
    /// The operator's client (`cif.v1.AdminService`).
    AdminClient(AdminServiceClient) {
        /// Reports version and API version.
        get_server_info(GetServerInfoRequest) -> GetServerInfoResponse;
        /// Creates a provider and issues its credential.
        create_provider(CreateProviderRequest) -> CreateProviderResponse;
        /// Reads a provider.
        get_provider(GetProviderRequest) -> GetProviderResponse;
        /// Lists providers.
        list_providers(ListProvidersRequest) -> ListProvidersResponse;
        /// Changes a provider.
        update_provider(UpdateProviderRequest) -> UpdateProviderResponse;
        /// Reactivates a provider.
        activate_provider(ActivateProviderRequest) -> ActivateProviderResponse;
        /// Deactivates a provider.
        deactivate_provider(DeactivateProviderRequest) -> DeactivateProviderResponse;
        /// Deletes a provider and revokes its credential.
        delete_provider(DeleteProviderRequest) -> DeleteProviderResponse;
        /// Issues a new provider credential, revoking the old one.
        rotate_provider_credential(RotateProviderCredentialRequest) -> RotateProviderCredentialResponse;
        /// Creates an agent and issues its credential.
        create_agent(CreateAgentRequest) -> CreateAgentResponse;
        /// Reads an agent.
        get_agent(GetAgentRequest) -> GetAgentResponse;
        /// Lists agents.
        list_agents(ListAgentsRequest) -> ListAgentsResponse;
        /// Changes an agent.
        update_agent(UpdateAgentRequest) -> UpdateAgentResponse;
        /// Deletes an agent (forced: closing its sessions).
        delete_agent(DeleteAgentRequest) -> DeleteAgentResponse;
        /// Issues a new agent credential, revoking the old one.
        rotate_agent_credential(RotateAgentCredentialRequest) -> RotateAgentCredentialResponse;
        /// Reads any agent's desk.
        get_desk(AdminServiceGetDeskRequest) -> AdminServiceGetDeskResponse;
        /// Reads any session.
        get_session(AdminServiceGetSessionRequest) -> AdminServiceGetSessionResponse;
        /// Lists sessions of any agent or provider.
        list_sessions(AdminServiceListSessionsRequest) -> AdminServiceListSessionsResponse;
        /// Adds a presence to the list.
        create_presence(CreatePresenceRequest) -> CreatePresenceResponse;
        /// Lists the configured presences.
        list_presences(ListPresencesRequest) -> ListPresencesResponse;
        /// Changes a presence.
        update_presence(UpdatePresenceRequest) -> UpdatePresenceResponse;
        /// Removes a presence.
        delete_presence(DeletePresenceRequest) -> DeletePresenceResponse;
        /// Creates a session template.
        create_session_template(CreateSessionTemplateRequest) -> CreateSessionTemplateResponse;
        /// Reads a session template.
        get_session_template(GetSessionTemplateRequest) -> GetSessionTemplateResponse;
        /// Lists session templates.
        list_session_templates(ListSessionTemplatesRequest) -> ListSessionTemplatesResponse;
        /// Changes a session template.
        update_session_template(UpdateSessionTemplateRequest) -> UpdateSessionTemplateResponse;
        /// Deletes a session template.
        delete_session_template(DeleteSessionTemplateRequest) -> DeleteSessionTemplateResponse;
        /// Creates a application tab template.
        create_tab_template(CreateTabTemplateRequest) -> CreateTabTemplateResponse;
        /// Reads a application tab template.
        get_tab_template(GetTabTemplateRequest) -> GetTabTemplateResponse;
        /// Lists application tab templates.
        list_tab_templates(ListTabTemplatesRequest) -> ListTabTemplatesResponse;
        /// Changes a application tab template.
        update_tab_template(UpdateTabTemplateRequest) -> UpdateTabTemplateResponse;
        /// Deletes a application tab template.
        delete_tab_template(DeleteTabTemplateRequest) -> DeleteTabTemplateResponse;
        /// Creates a notification template.
        create_notification_template(CreateNotificationTemplateRequest) -> CreateNotificationTemplateResponse;
        /// Reads a notification template.
        get_notification_template(GetNotificationTemplateRequest) -> GetNotificationTemplateResponse;
        /// Lists notification templates.
        list_notification_templates(ListNotificationTemplatesRequest) -> ListNotificationTemplatesResponse;
        /// Changes a notification template.
        update_notification_template(UpdateNotificationTemplateRequest) -> UpdateNotificationTemplateResponse;
        /// Deletes a notification template.
        delete_notification_template(DeleteNotificationTemplateRequest) -> DeleteNotificationTemplateResponse;
    }
}

/// Makes an [`Opener`] from a generated client's streaming call.
macro_rules! opener {
    ($client:expr, $method:ident, |$start:ident| $request:expr) => {{
        let client = $client.clone();
        let opener: Opener = Arc::new(move |$start: Start| {
            let mut client = client.clone();
            let request = $request;
            Box::pin(async move {
                let stream = client.$method(request).await?.into_inner();
                let messages: MessageStream = Box::pin(
                    stream.map(|item| item.map(|response| response.message.unwrap_or_default())),
                );
                Ok(messages)
            })
        });
        opener
    }};
}

impl ProviderClient {
    /// Follows the events of the caller's sessions (on `agent_ids` only, unless empty),
    /// resuming by itself after disconnects; with `snapshot`, it starts with the caller's open
    /// sessions.
    pub fn subscribe(&self, agent_ids: Vec<String>, snapshot: bool) -> Subscription {
        let opener = opener!(self.inner, subscribe, |start| {
            let (snapshot, log_id, after_sequence) = start.fields();
            pb::SubscribeRequest {
                agent_ids: agent_ids.clone(),
                snapshot,
                log_id,
                after_sequence,
            }
        });
        Subscription::new(opener, snapshot)
    }
}

impl AgentClient {
    /// Follows every event of the caller's desk, resuming by itself after disconnects; with
    /// `snapshot`, it starts with the whole desk.
    pub fn subscribe(&self, snapshot: bool) -> Subscription {
        let opener = opener!(self.inner, subscribe, |start| {
            let (snapshot, log_id, after_sequence) = start.fields();
            pb::AgentServiceSubscribeRequest {
                snapshot,
                log_id,
                after_sequence,
            }
        });
        Subscription::new(opener, snapshot)
    }
}

impl AdminClient {
    /// Follows every event of every desk, resuming by itself after disconnects; with
    /// `snapshot`, it starts with every desk.
    pub fn watch(&self, snapshot: bool) -> Subscription {
        let opener = opener!(self.inner, watch, |start| {
            let (snapshot, log_id, after_sequence) = start.fields();
            pb::WatchRequest {
                snapshot,
                log_id,
                after_sequence,
            }
        });
        Subscription::new(opener, snapshot)
    }
}
