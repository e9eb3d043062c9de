//! The configuration file's declarations in the audit trail: applying them keeps an entry
//! for every resource they created, changed or handed back to AdminService.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::audit::Resource;
use crate::domain::audit::Snapshot;
use crate::domain::catalogue::TemplateKind;
use crate::domain::control_plane::Declared;
use crate::domain::{ControlPlane, CredentialHash, DomainResult};

/// Who applies the configuration file's declarations, in the entries they keep.
const CONFIGURATION: &str = "configuration";

/// Applies the configuration file's declarations and keeps an entry (actor `configuration`,
/// action `ApplyConfiguration`) for every resource they created, changed or handed back to
/// AdminService: a restart with the same file keeps none.
pub fn apply_configuration(
    plane: &mut ControlPlane,
    declared: Declared,
    credential: impl FnMut() -> CredentialHash,
) -> DomainResult<()> {
    let before = everything_declarable(plane);
    plane.apply_declarations(declared, credential)?;
    let mut after = everything_declarable(plane);
    let now = SystemTime::now();
    for (name, was) in before {
        let is = after.remove(&name);
        if is.as_ref() != Some(&was) {
            plane.audit(
                now,
                CONFIGURATION.into(),
                "ApplyConfiguration",
                name,
                Some(was),
                is,
            );
        }
    }
    for (name, is) in after {
        plane.audit(
            now,
            CONFIGURATION.into(),
            "ApplyConfiguration",
            name,
            None,
            Some(is),
        );
    }
    Ok(())
}

/// Every resource the configuration file may declare, by name, as the API shows it.
fn everything_declarable(plane: &ControlPlane) -> BTreeMap<String, Snapshot> {
    let mut resources: Vec<Resource> = Vec::new();
    resources.extend(
        plane
            .providers(None, usize::MAX)
            .items
            .into_iter()
            .map(|provider| Resource::Provider(provider.id)),
    );
    resources.extend(
        plane
            .agents(None, usize::MAX)
            .items
            .into_iter()
            .map(|agent| Resource::Agent(agent.id)),
    );
    resources.extend(
        plane
            .presences()
            .map(|presence| Resource::Presence(presence.id.clone())),
    );
    for kind in [
        TemplateKind::Session,
        TemplateKind::Tab,
        TemplateKind::Notification,
    ] {
        resources.extend(
            plane
                .catalogue()
                .list(kind, None, usize::MAX)
                .items
                .into_iter()
                .map(|template| super::templates::resource_of(kind, &template.unique_name)),
        );
    }
    resources
        .into_iter()
        .filter_map(|resource| Some((resource.name(), resource.snapshot(plane)?)))
        .collect()
}
