//! Subscription streams as stream messages: the start fields of a subscribe request, the
//! snapshot each scope gets, and the conversion of what `app::subscribe` yields.

use std::collections::VecDeque;
use std::pin::Pin;

use cif_sdk::pb;
use tokio_stream::{Stream, StreamExt as _};
use tonic::Status;
use uuid::Uuid;

use super::status::to_status;
use super::{convert, parse};
use crate::app::{Opening, SharedCore, Update, subscribe};
use crate::domain::events::Scope;
use crate::domain::validate::Violations;
use crate::domain::{DomainResult, Reason};

/// A response stream as tonic wants it.
pub type ResponseStream<R> = Pin<Box<dyn Stream<Item = Result<R, Status>> + Send>>;

/// Reads the start fields every subscribe request has.
pub fn opening(snapshot: bool, log_id: &str, after_sequence: u64) -> DomainResult<Opening> {
    if log_id.is_empty() {
        return Ok(if snapshot {
            Opening::Snapshot
        } else {
            Opening::Live
        });
    }
    let mut violations = Violations::new();
    if snapshot {
        violations.add(
            "snapshot",
            Reason::FieldMalformed,
            "snapshot cannot be combined with resuming (log_id): ask for a snapshot, or resume",
        );
    }
    let log_id = match Uuid::try_parse(log_id) {
        Ok(log_id) => Some(log_id),
        Err(_) => {
            violations.add(
                "log_id",
                Reason::FieldMalformed,
                "log_id is not a log id; give the log_id of a stream message or read",
            );
            None
        }
    };
    violations.finish()?;
    Ok(Opening::Resume {
        log_id: log_id.expect("checked above"),
        after_sequence,
    })
}

/// Opens a stream for `scope` (see `app::subscribe`), as stream messages.
pub async fn open(state: &SharedCore, scope: Scope, opening: Opening) -> Result<Messages, Status> {
    let mut subscription = subscribe(state, scope, opening, snapshot_items).await?;
    let log_id = subscription.log_id.to_string();
    let audience = match subscription.scope() {
        Scope::Provider { .. } => convert::Audience::Provider,
        Scope::Agent(_) | Scope::Everything(_) => convert::Audience::Desk,
    };
    // A desk's stream also carries what its widgets hear (rule 21).
    let for_widgets = matches!(subscription.scope(), Scope::Agent(_));
    let prelude: VecDeque<pb::StreamMessage> = subscription
        .snapshot
        .take()
        .into_iter()
        .flatten()
        .map(|item| pb::StreamMessage {
            log_id: log_id.clone(),
            sequence: subscription.sequence,
            kind: Some(pb::stream_message::Kind::SnapshotItem(item)),
            widgets: None,
        })
        .collect();
    let updates = subscription.map(move |update| {
        update.map_err(to_status).map(|update| match update {
            Update::Event(logged) => pb::StreamMessage {
                log_id: log_id.clone(),
                sequence: logged.sequence,
                kind: Some(pb::stream_message::Kind::Event(convert::event(
                    &logged.event,
                    audience,
                ))),
                widgets: (for_widgets && !logged.event.providers.is_empty()).then(|| {
                    pb::WidgetDelivery {
                        provider_ids: logged
                            .event
                            .providers
                            .iter()
                            .map(ToString::to_string)
                            .collect(),
                        event: Some(convert::event(&logged.event, convert::Audience::Provider)),
                    }
                }),
            },
            Update::Heartbeat(sequence) => pb::StreamMessage {
                log_id: log_id.clone(),
                sequence,
                kind: Some(pb::stream_message::Kind::Heartbeat(pb::Heartbeat {})),
                widgets: None,
            },
        })
    });
    Ok(Messages(Box::pin(
        tokio_stream::iter(prelude.into_iter().map(Ok)).chain(updates),
    )))
}

/// A stream's messages: its snapshot, then its events and heartbeats, then the reason the
/// server ended it, if it did.
pub struct Messages(ResponseStream<pb::StreamMessage>);

impl Messages {
    /// Wraps every message into a service's response type, for tonic.
    pub fn into_responses<R: Send + 'static>(
        self,
        wrap: fn(pb::StreamMessage) -> R,
    ) -> ResponseStream<R> {
        Box::pin(self.0.map(move |message| message.map(wrap)))
    }
}

/// What `scope` may see now, in snapshot items.
fn snapshot_items(
    plane: &crate::domain::ControlPlane,
    scope: &Scope,
) -> DomainResult<Vec<pb::SnapshotItem>> {
    use pb::snapshot_item::Item;
    Ok(match scope {
        Scope::Provider { provider, agents } => {
            let sessions = plane
                .provider_open_sessions(*provider, agents.as_ref())?
                .into_iter()
                .chain(plane.provider_home_tabs(*provider, agents.as_ref()))
                .map(|view| Item::Session(convert::session(view)));
            let toasts = plane
                .provider_pending_toasts(*provider)
                .into_iter()
                .filter(|toast| {
                    agents
                        .as_ref()
                        .is_none_or(|agents| agents.contains(&toast.agent))
                })
                .map(|toast| Item::Notification(convert::notification(toast)));
            sessions
                .chain(toasts)
                .map(|item| pb::SnapshotItem { item: Some(item) })
                .collect()
        }
        Scope::Agent(agent) => {
            let desk = Item::Desk(convert::desk(plane.desk(*agent)?));
            let widgets = plane
                .widgets(*agent)
                .map(|widgets| Item::Widgets(convert::desk_widgets(&widgets)));
            std::iter::once(desk)
                .chain(widgets)
                .map(|item| pb::SnapshotItem { item: Some(item) })
                .collect()
        }
        Scope::Everything(_) => plane
            .desks()
            .map(|desk| pb::SnapshotItem {
                item: Some(Item::Desk(convert::desk(desk))),
            })
            .collect(),
    })
}

/// Parses a provider's agent filter.
pub fn agent_filter(
    agent_ids: &[String],
) -> DomainResult<Option<std::collections::BTreeSet<cif_sdk::ids::AgentId>>> {
    if agent_ids.is_empty() {
        return Ok(None);
    }
    agent_ids
        .iter()
        .enumerate()
        .map(|(index, id)| parse::id(&format!("agent_ids[{index}]"), id))
        .collect::<DomainResult<_>>()
        .map(Some)
}
