//! The configuration file's declarations on the domain alone: applied once, again without a
//! change, edits refused while declared, the operator's deactivation kept, and release.

use std::time::UNIX_EPOCH;

use cif_sdk::ids::AgentId;

use super::tests::{World, hash, new_provider, reason};
use super::*;
use crate::domain::catalogue::{TabSpec, Template, TemplateKind, TemplateSpec};
use crate::domain::desks::PageKind;
use crate::domain::registry::ProviderPatch;
use crate::domain::registry::{AgentPatch, LimitsPatch};
use crate::domain::registry::{Presence, PresencePatch, PresenceStatus};
use crate::domain::{DomainError, Reason};

const ADA: &str = "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11";

fn declared(label: &str) -> Declared {
    let place = |what: &str| format!("cifd.toml line 1 ({what})");
    let mut provider = new_provider("contoso_phone");
    provider.fields.label = label.into();
    Declared {
        presences: vec![Declaration {
            place: place("presence"),
            item: Presence {
                id: "available".into(),
                text: "Available".into(),
                base_status: PresenceStatus::Available,
                color: "#00A300".into(),
                managed: true,
            },
        }],
        providers: vec![Declaration {
            place: place("provider"),
            item: provider,
        }],
        templates: vec![Declaration {
            place: place("tab_template"),
            item: Template {
                unique_name: "contoso_crm".into(),
                display_name: "Customer".into(),
                spec: TemplateSpec::Tab(TabSpec {
                    title: "Customer {customerName}".into(),
                    page_kind: PageKind::Dashboard,
                    parameters: Default::default(),
                    can_close: true,
                }),
                managed: true,
                created: UNIX_EPOCH,
                updated: UNIX_EPOCH,
            },
        }],
        agents: vec![Declaration {
            place: place("agent"),
            item: DeclaredAgent {
                id: ADA.parse().unwrap(),
                display_name: "Ada".into(),
                providers: vec!["contoso_phone".into()],
                limits: LimitsPatch {
                    max_open_sessions: Some(5),
                    ..Default::default()
                },
            },
        }],
    }
}

fn apply(world: &mut World, declared: Declared) -> Result<(), DomainError> {
    let mut seed = 100;
    world.plane.apply_declarations(declared, || {
        seed += 1;
        hash(seed)
    })
}

fn changed(world: &mut World) -> bool {
    !world.plane.take_changes().is_empty() || !world.plane.take_effects().events.is_empty()
}

#[test]
fn a_file_applies_once_and_again_changes_nothing() {
    let mut world = World::new();
    apply(&mut world, declared("Phone")).unwrap();
    assert!(changed(&mut world));
    let agent: AgentId = ADA.parse().unwrap();
    let record = world.plane.agent_record(agent).unwrap().clone();
    assert!(record.managed);
    assert_eq!(record.limits.max_open_sessions, 5);
    assert_eq!(record.profile.len(), 1);
    assert!(
        world
            .plane
            .catalogue()
            .get(TemplateKind::Tab, "contoso_crm")
            .unwrap()
            .managed
    );

    apply(&mut world, declared("Phone")).unwrap();
    assert!(!changed(&mut world), "the same file writes nothing");

    apply(&mut world, declared("Telephony")).unwrap();
    let provider = world.plane.providers(None, 10).items[0].clone();
    assert_eq!(
        provider.fields.label, "Telephony",
        "a changed file changes the provider"
    );
}

#[test]
fn declared_items_refuse_edits_but_the_operators_deactivation_stays() {
    let mut world = World::new();
    apply(&mut world, declared("Phone")).unwrap();
    let provider = world.plane.providers(None, 10).items[0].id;
    let agent: AgentId = ADA.parse().unwrap();
    let plane = &mut world.plane;
    assert_eq!(
        reason(plane.update_provider(provider, ProviderPatch::default())),
        Reason::ManagedByConfig
    );
    assert_eq!(
        reason(plane.delete_provider(provider)),
        Reason::ManagedByConfig
    );
    assert_eq!(
        reason(plane.update_agent(agent, AgentPatch::default())),
        Reason::ManagedByConfig
    );
    assert_eq!(
        reason(plane.delete_agent(agent, true)),
        Reason::ManagedByConfig
    );
    assert_eq!(
        reason(plane.update_presence("available", PresencePatch::default())),
        Reason::ManagedByConfig
    );
    assert_eq!(
        reason(
            plane
                .catalogue_mut()
                .delete(TemplateKind::Tab, "contoso_crm")
        ),
        Reason::ManagedByConfig
    );
    let error = plane
        .catalogue_mut()
        .update(TemplateKind::Tab, "contoso_crm", "tab_template", |_| Ok(()))
        .unwrap_err();
    assert!(
        error.message.contains("configuration file"),
        "{}",
        error.message
    );

    plane.set_provider_active(provider, false).unwrap();
    plane
        .rotate_provider_credential(provider, hash(200))
        .unwrap();
    apply(&mut world, declared("Phone")).unwrap();
    assert!(
        !world.plane.provider(provider).unwrap().active,
        "a restart does not undo the operator's deactivation"
    );
}

#[test]
fn what_the_file_no_longer_declares_is_handed_back_not_deleted() {
    let mut world = World::new();
    apply(&mut world, declared("Phone")).unwrap();
    apply(&mut world, Declared::default()).unwrap();
    let provider = world.plane.providers(None, 10).items[0].clone();
    assert!(!provider.managed);
    world
        .plane
        .update_provider(provider.id, ProviderPatch::default())
        .expect("AdminService edits it again");
    assert!(
        !world
            .plane
            .agent_record(ADA.parse().unwrap())
            .unwrap()
            .managed
    );
}

#[test]
fn a_bad_declaration_names_its_place() {
    let mut world = World::new();
    let mut bad = declared("Phone");
    bad.agents[0].item.providers = vec!["contoso_nothing".into()];
    let error = apply(&mut world, bad).unwrap_err();
    assert!(
        error
            .message
            .starts_with("cifd.toml line 1 (agent): providers names contoso_nothing"),
        "{}",
        error.message
    );
    let mut bad = declared("Phone");
    bad.providers[0].item.fields.channel_url = "http://insecure.example.com".into();
    let error = apply(&mut world, bad).unwrap_err();
    assert!(
        error.message.starts_with("cifd.toml line 1 (provider)"),
        "{}",
        error.message
    );
}
