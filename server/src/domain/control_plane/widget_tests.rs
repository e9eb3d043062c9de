//! Rule 20 on the domain alone: which providers' widgets a desk hosts, which one shows, and
//! that the desk hears of a change once, after the command's other events. Each step runs
//! through `execute`, as the application runs commands.

use cif_sdk::ids::{AgentId, ProviderId};

use super::tests::{World, home, new_session};
use super::*;
use crate::domain::events::{EventKind, Widgets};
use crate::domain::registry::{AgentPatch, ProviderPatch};

/// A widget announcement a command made: the desk, the visible provider, the whole widgets
/// when the providers changed, and the providers that heard it.
#[derive(Debug)]
struct Announced {
    agent: AgentId,
    visible: Option<ProviderId>,
    whole: Option<Widgets>,
    heard_by: Vec<ProviderId>,
}

fn announced<R: std::fmt::Debug>(
    world: &mut World,
    command: impl FnOnce(&mut ControlPlane) -> crate::domain::DomainResult<R>,
) -> Vec<Announced> {
    let (result, effects) = world.plane.execute(command);
    result.expect("the command succeeds");
    effects
        .events
        .into_iter()
        .filter_map(|event| {
            let (visible, whole) = match event.kind {
                EventKind::DeskWidgetsChanged { widgets } => (widgets.visible, Some(*widgets)),
                EventKind::VisibleWidgetChanged { visible } => (visible, None),
                _ => return None,
            };
            Some(Announced {
                agent: event.agent,
                visible,
                whole,
                heard_by: event.providers,
            })
        })
        .collect()
}

fn labels(widgets: &Widgets) -> Vec<&str> {
    widgets
        .providers
        .iter()
        .map(|provider| provider.label.as_str())
        .collect()
}

fn profile(
    agent: AgentId,
    providers: &[ProviderId],
) -> impl FnOnce(&mut ControlPlane) -> crate::domain::DomainResult<()> {
    let providers = providers.to_vec();
    move |plane| {
        plane
            .update_agent(
                agent,
                AgentPatch {
                    profile: Some(providers),
                    ..AgentPatch::default()
                },
            )
            .map(drop)
    }
}

fn label(label: &str) -> ProviderPatch {
    ProviderPatch {
        label: Some(label.into()),
        ..ProviderPatch::default()
    }
}

#[test]
fn rule_20_the_visible_widget_follows_the_focus_while_admitted() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    world.plane.update_provider(chat, label("Chat")).unwrap();
    let agent = world.agent(&[]);
    let home = home(&world, agent);

    // Home with two providers: both hosted, in channel order, neither shown.
    let widgets = world.plane.widgets(agent).unwrap();
    assert_eq!(labels(&widgets), ["Chat", "Phone"]);
    assert_eq!(widgets.visible, None);

    // A provider's session takes focus: its widget shows. Only the desk hears (no provider).
    let created = announced(&mut world, |plane| {
        plane.create_session(chat, new_session(agent)).map(drop)
    });
    assert_eq!(created.len(), 1);
    let shown = &created[0];
    assert_eq!((shown.agent, shown.visible), (agent, Some(chat)));
    assert!(
        shown.whole.is_none(),
        "only the visible widget: the providers did not change"
    );
    assert!(shown.heard_by.is_empty(), "to the agent and operators only");
    let chats = world.plane.desk(agent).unwrap().desk.focused;

    let phones = {
        let (result, _) = world.plane.execute(|plane| {
            plane
                .create_session(phone, new_session(agent))
                .map(|view| view.session.id)
        });
        result.unwrap()
    };
    assert_eq!(world.plane.widgets(agent).unwrap().visible, Some(phone));

    // The agent switches: the widget follows; back in home, none.
    let switched = announced(&mut world, |plane| {
        plane.switch_session(agent, chats, None).map(drop)
    });
    assert_eq!(switched[0].visible, Some(chat));
    let to_home = announced(&mut world, |plane| {
        plane.switch_session(agent, home, None).map(drop)
    });
    assert_eq!(to_home[0].visible, None);

    // What leaves the visible widget as it is says nothing of widgets.
    assert!(
        announced(&mut world, |plane| plane
            .switch_session(agent, home, None)
            .map(drop))
        .is_empty()
    );
    assert!(
        announced(&mut world, |plane| plane
            .request_focus_session(chat, chats, None, 3))
        .is_empty()
    );
    let switched = announced(&mut world, |plane| {
        plane.switch_session(agent, phones, None).map(drop)
    });
    assert_eq!(switched[0].visible, Some(phone));

    // Closing the focused session moves focus back to home (focused just before), where
    // neither widget shows.
    let closed = announced(&mut world, |plane| {
        plane.close_session_as_agent(agent, phones, None).map(drop)
    });
    assert_eq!(closed.len(), 1, "one announcement per command: {closed:?}");
    assert_eq!(closed[0].visible, None);
}

#[test]
fn rule_20_the_providers_follow_admissions_and_what_desks_show_of_them() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let ada = world.agent(&[chat, phone]);
    let bob = world.agent(&[]);

    // Taken off Ada's profile: phone's widget leaves her desk, and in home the single
    // provider left shows.
    let changed = announced(&mut world, profile(ada, &[chat]));
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].agent, ada);
    let widgets = changed[0].whole.as_ref().expect("the whole widgets");
    assert_eq!(
        widgets.providers.iter().map(|p| p.id).collect::<Vec<_>>(),
        [chat]
    );
    assert_eq!(widgets.visible, Some(chat));

    // A session of an owner no longer admitted shows no widget.
    let phones = {
        let (result, _) = world.plane.execute(profile(ada, &[chat, phone]));
        result.unwrap();
        let (result, _) = world.plane.execute(|plane| {
            plane
                .create_session(phone, new_session(ada))
                .map(|view| view.session.id)
        });
        result.unwrap()
    };
    assert_eq!(world.plane.desk(ada).unwrap().desk.focused, phones);
    let changed = announced(&mut world, profile(ada, &[chat]));
    assert_eq!(changed[0].visible, None);
    assert!(changed[0].whole.is_some());

    // A label every desk that hosts chat shows: both hear it; a field no desk shows: nobody.
    let relabelled = announced(&mut world, |plane| {
        plane.update_provider(chat, label("Chat"))
    });
    let mut told: Vec<AgentId> = relabelled.iter().map(|told| told.agent).collect();
    told.sort();
    let mut both = vec![ada, bob];
    both.sort();
    assert_eq!(told, both);
    assert!(
        relabelled
            .iter()
            .all(|told| labels(told.whole.as_ref().unwrap()).contains(&"Chat"))
    );
    let unseen = ProviderPatch {
        custom_parameters: Some("region=eu".into()),
        ..ProviderPatch::default()
    };
    assert!(announced(&mut world, |plane| plane.update_provider(chat, unseen)).is_empty());

    // A new provider joins the desks whose profile is empty, and only those.
    let mail = announced(&mut world, |plane| {
        let credential = crate::domain::CredentialHash([42; 32]);
        plane.create_provider(super::tests::new_provider("contoso_mail"), credential)
    });
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].agent, bob);
    assert_eq!(mail[0].whole.as_ref().unwrap().providers.len(), 3);

    // Deactivated, a provider leaves every desk that hosted it.
    let deactivated = announced(&mut world, |plane| plane.set_provider_active(chat, false));
    assert_eq!(deactivated.len(), 2);
    assert!(deactivated.iter().all(|told| {
        told.whole
            .as_ref()
            .unwrap()
            .providers
            .iter()
            .all(|p| p.id != chat)
    }));
}

#[test]
fn click_to_act_set_by_a_widget_holds_on_its_desk_only_and_the_desk_hears_it() {
    let mut world = World::new();
    let phone = world.provider("contoso_phone");
    let ada = world.agent(&[phone]);
    let bob = world.agent(&[phone]);
    let outbound = |world: &World, agent| world.plane.provider_click_to_act(phone, agent).unwrap();
    assert!(!outbound(&world, ada), "the record's default: off");

    let heard = announced(&mut world, |plane| {
        plane.provider_set_click_to_act(phone, ada, true)
    });
    assert_eq!(heard.len(), 1);
    let whole = heard[0]
        .whole
        .as_ref()
        .expect("the desk's providers changed");
    assert!(whole.providers[0].enable_outbound);
    assert!(outbound(&world, ada));
    assert!(!outbound(&world, bob), "another desk keeps the default");

    // Setting it again changes nothing and says nothing.
    assert!(
        announced(&mut world, |plane| plane
            .provider_set_click_to_act(phone, ada, true))
        .is_empty()
    );
    // The record's default turned on: the desk that turned it on keeps its own setting.
    world
        .plane
        .update_provider(
            phone,
            ProviderPatch {
                enable_outbound: Some(true),
                ..ProviderPatch::default()
            },
        )
        .unwrap();
    announced(&mut world, |plane| {
        plane.provider_set_click_to_act(phone, ada, false)
    });
    assert!(!outbound(&world, ada));
    assert!(outbound(&world, bob));
    // Inactive: off everywhere.
    world.plane.set_provider_active(phone, false).unwrap();
    assert!(!world.plane.outbound_on(bob, phone));
}
