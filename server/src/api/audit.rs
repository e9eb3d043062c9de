//! The audit trail as AdminService lists it: each change an operator makes (and a desk's
//! widget credentials issued and revoked) keeps an entry, in the same command as the change
//! (so neither is kept without the other), with the resource before and after as the API
//! shows it.

use std::time::SystemTime;

use cif_sdk::ids::{AgentId, OperatorCredentialId, ProviderId};
use cif_sdk::pb;
use prost::Message as _;
use tonic::{Request, Status};
use uuid::Uuid;

use super::call::{Context, principal, query};
use super::convert;
use super::page_token::page_size;
use crate::app::{REFUSAL_WINDOW, RefusalCount};
use crate::domain::audit::{AuditEntry, AuditFilter, Snapshot};
use crate::domain::catalogue::{Template, TemplateKind};
use crate::domain::{ControlPlane, DomainResult};

/// A resource whose changes are audited.
#[derive(Debug, Clone)]
pub(super) enum Resource {
    Provider(ProviderId),
    Agent(AgentId),
    OperatorCredential(OperatorCredentialId),
    Presence(String),
    /// A template: its kind, unique name, message type and how its message is made.
    Template {
        kind: TemplateKind,
        name: String,
        type_name: &'static str,
        encode: fn(&Template) -> Vec<u8>,
    },
    /// The widget credential an agent's desk holds for a provider.
    WidgetCredential {
        agent: AgentId,
        provider: ProviderId,
    },
}

impl Resource {
    pub fn name(&self) -> String {
        match self {
            Self::Provider(id) => format!("providers/{id}"),
            Self::Agent(id) => format!("agents/{id}"),
            Self::OperatorCredential(id) => format!("operatorCredentials/{id}"),
            Self::Presence(id) => format!("presences/{id}"),
            Self::Template { name, .. } => format!("templates/{name}"),
            Self::WidgetCredential { agent, provider } => {
                format!("agents/{agent}/widgetCredentials/{provider}")
            }
        }
    }

    /// The resource as the API shows it now, if it exists.
    pub fn snapshot(&self, plane: &ControlPlane) -> Option<Snapshot> {
        let (type_name, value) = match self {
            Self::Provider(id) => (
                "cif.v1.Provider",
                convert::provider(plane.provider(*id).ok()?).encode_to_vec(),
            ),
            Self::Agent(id) => (
                "cif.v1.Agent",
                convert::agent(plane.agent_record(*id).ok()?).encode_to_vec(),
            ),
            Self::OperatorCredential(id) => (
                "cif.v1.OperatorCredential",
                convert::operator_credential(plane.operator_credential(*id)?).encode_to_vec(),
            ),
            Self::Presence(id) => (
                "cif.v1.Presence",
                convert::presence(plane.presences().find(|presence| presence.id == *id)?)
                    .encode_to_vec(),
            ),
            Self::Template {
                kind,
                name,
                type_name,
                encode,
            } => (*type_name, encode(plane.catalogue().get(*kind, name).ok()?)),
            Self::WidgetCredential { agent, provider } => {
                let held = plane.widget_credentials(*agent, SystemTime::now()).ok()?;
                let (_, expires) = held.into_iter().find(|(held, _)| held == provider)?;
                let message = pb::WidgetCredential {
                    agent_id: agent.to_string(),
                    provider_id: provider.to_string(),
                    expire_time: Some(convert::timestamp(expires)),
                };
                ("cif.v1.WidgetCredential", message.encode_to_vec())
            }
        };
        Some(Snapshot {
            type_url: format!("type.googleapis.com/{type_name}"),
            value,
        })
    }
}

/// Who is changing what: the caller and the method.
pub(super) struct Audit {
    actor: String,
    action: &'static str,
}

impl Audit {
    pub fn of<T>(request: &Request<T>, action: &'static str) -> Result<Self, Status> {
        Ok(Self {
            actor: principal(request)?.to_string(),
            action,
        })
    }

    /// Runs `change` on `resource` and keeps the entry, with the resource before and after.
    pub fn change<R>(
        &self,
        plane: &mut ControlPlane,
        resource: &Resource,
        change: impl FnOnce(&mut ControlPlane) -> DomainResult<R>,
    ) -> DomainResult<R> {
        let before = resource.snapshot(plane);
        let changed = change(plane)?;
        self.keep(plane, resource, before);
        Ok(changed)
    }

    /// Keeps the entry of `resource`, just created.
    pub fn created(&self, plane: &mut ControlPlane, resource: &Resource) {
        self.keep(plane, resource, None);
    }

    /// Keeps the entry of `resource`, removed by a change that removed others with it, as it
    /// was `before`.
    pub fn removed(&self, plane: &mut ControlPlane, resource: &Resource, before: Option<Snapshot>) {
        self.keep(plane, resource, before);
    }

    fn keep(&self, plane: &mut ControlPlane, resource: &Resource, before: Option<Snapshot>) {
        let after = resource.snapshot(plane);
        plane.audit(
            SystemTime::now(),
            self.actor.clone(),
            self.action,
            resource.name(),
            before,
            after,
        );
    }
}

fn message(entry: &AuditEntry) -> pb::AuditEntry {
    let any = |snapshot: &Option<Snapshot>| {
        snapshot.as_ref().map(|snapshot| prost_types::Any {
            type_url: snapshot.type_url.clone(),
            value: snapshot.value.clone(),
        })
    };
    pb::AuditEntry {
        id: entry.id.to_string(),
        time: Some(convert::timestamp(entry.time)),
        actor: entry.actor.clone(),
        action: entry.action.clone(),
        resource: entry.resource.clone(),
        before: any(&entry.before),
        after: any(&entry.after),
    }
}

pub async fn list_refusals(
    context: &Context,
    request: pb::ListRefusalCountsRequest,
) -> Result<pb::ListRefusalCountsResponse, Status> {
    let limit = page_size(request.page_size)?;
    let key = format!(
        "admin.refusal_counts\0{}\0{}\0{}",
        request.principal, request.method, request.reason
    );
    let after = context.page_tokens.read_bytes(&key, &request.page_token)?;
    let matches = |wanted: &str, value: &str| wanted.is_empty() || wanted == value;
    let counts = context.refusals.list(|counted| {
        matches(&request.principal, &counted.principal)
            && matches(&request.method, &counted.method)
            && matches(&request.reason, &counted.reason)
    });
    // A count's place: its window and key, which order the list.
    let place = |count: &RefusalCount| {
        let seconds = count
            .window_start
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let key = &count.key;
        format!(
            "{seconds:020}\0{}\0{}\0{}",
            key.principal, key.method, key.reason
        )
        .into_bytes()
    };
    let mut page: Vec<&RefusalCount> = counts
        .iter()
        .filter(|count| after.as_ref().is_none_or(|after| place(count) > *after))
        .take(limit + 1)
        .collect();
    let next = (page.len() > limit).then(|| {
        page.truncate(limit);
        context
            .page_tokens
            .issue_bytes(&key, &place(page[limit - 1]))
    });
    Ok(pb::ListRefusalCountsResponse {
        refusal_counts: page
            .into_iter()
            .map(|count| pb::RefusalCount {
                window_start_time: Some(convert::timestamp(count.window_start)),
                window: prost_types::Duration::try_from(REFUSAL_WINDOW).ok(),
                principal: count.key.principal.clone(),
                method: count.key.method.clone(),
                reason: count.key.reason.clone(),
                count: i64::try_from(count.count).unwrap_or(i64::MAX),
            })
            .collect(),
        next_page_token: next.unwrap_or_default(),
    })
}

pub async fn list(
    context: &Context,
    request: pb::ListAuditEntriesRequest,
) -> Result<pb::ListAuditEntriesResponse, Status> {
    let limit = page_size(request.page_size)?;
    let filter = AuditFilter {
        actor: request.actor,
        action: request.action,
        resource: request.resource,
    };
    // A token serves only the query it was issued for.
    let key = format!(
        "admin.audit_entries\0{}\0{}\0{}",
        filter.actor, filter.action, filter.resource
    );
    let after = context.page_tokens.read(&key, &request.page_token)?;
    let ((audit_entries, next), _) = query(&context.state, |core| {
        let page = core.plane.audit_entries(&filter, after, limit);
        Ok((page.items.into_iter().map(message).collect(), page.next))
    })
    .await?;
    Ok(pb::ListAuditEntriesResponse {
        audit_entries,
        next_page_token: next
            .map(|next: Uuid| context.page_tokens.issue(&key, next))
            .unwrap_or_default(),
    })
}
