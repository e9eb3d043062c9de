//! Which responses carry a log position, and which hold secrets that are never stored: the
//! [`Answer`] of every call that changes something.

use cif_sdk::pb;

use crate::app::{Answer, Position};

/// Responses with nothing to add.
macro_rules! plain {
    ($($response:ident),* $(,)?) => {
        $(impl Answer for pb::$response {})*
    };
}

/// Responses that say which log position they reflect.
macro_rules! positioned {
    ($($response:ident),* $(,)?) => {
        $(impl Answer for pb::$response {
            fn place(&mut self, at: &Position) {
                self.log_id = at.log_id.clone();
                self.sequence = at.sequence;
            }
        })*
    };
}

/// Responses that carry a credential: it is shown once, in this answer, and only its hash is
/// stored. A retry after a restart gets the answer without it (rotate to get a new one).
macro_rules! with_credential {
    ($($response:ident),* $(,)?) => {
        $(impl Answer for pb::$response {
            fn storable(&self) -> Self {
                let mut storable = self.clone();
                storable.credential.clear();
                storable
            }
        })*
    };
}

positioned!(
    CreateSessionResponse,
    SwitchSessionResponse,
    CloseSessionResponse
);

with_credential!(
    CreateProviderResponse,
    RotateProviderCredentialResponse,
    CreateAgentResponse,
    RotateAgentCredentialResponse,
    IssueWidgetCredentialResponse,
    CreateOperatorCredentialResponse,
);

impl Answer for pb::RaiseEventResponse {
    fn place(&mut self, at: &Position) {
        self.sequence = at.sequence;
    }
}

plain!(
    RevokeWidgetCredentialsResponse,
    RevokeOperatorCredentialResponse,
    SetClickToActResponse,
    CreateSessionTemplateResponse,
    UpdateSessionTemplateResponse,
    DeleteSessionTemplateResponse,
    CreateTabTemplateResponse,
    UpdateTabTemplateResponse,
    DeleteTabTemplateResponse,
    CreateNotificationTemplateResponse,
    UpdateNotificationTemplateResponse,
    DeleteNotificationTemplateResponse,
    RequestFocusSessionResponse,
    NotifyNewActivityResponse,
    NotifyKpiBreachResponse,
    SetSessionTitleResponse,
    UpdateSessionContextResponse,
    CreateTabResponse,
    FocusTabResponse,
    RefreshTabResponse,
    SetTabTitleResponse,
    CloseTabResponse,
    SetModeResponse,
    SetWidthResponse,
    CancelEventResponse,
    SetPresenceResponse,
    AgentServiceFocusTabResponse,
    AgentServiceCloseTabResponse,
    AgentServiceSetModeResponse,
    AgentServiceSetWidthResponse,
    RespondToNotificationResponse,
    AgentServiceSetPresenceResponse,
    ClickToActResponse,
    AgentServiceRaiseEventResponse,
    UpdateProviderResponse,
    ActivateProviderResponse,
    DeactivateProviderResponse,
    DeleteProviderResponse,
    UpdateAgentResponse,
    DeleteAgentResponse,
    CreatePresenceResponse,
    UpdatePresenceResponse,
    DeletePresenceResponse,
);
