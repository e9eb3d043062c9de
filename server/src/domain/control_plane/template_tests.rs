//! Rule 15 and the automation dictionary (rule 14) on the domain alone: the template
//! catalogue, and sessions, tabs and toasts made from it.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cif_sdk::ids::NotificationId;

use super::desk_tests::heard;
use super::tests::{World, reason};
use super::*;
use crate::domain::Reason;
use crate::domain::catalogue::{
    NotificationSpec, SessionSpec, TabSpec, Template, TemplateKind, TemplateSpec,
};
use crate::domain::desks::PanelMode;
use crate::domain::desks::{NewTab, PageKind};
use crate::domain::toasts::{NewToast, Raised, ToastContent};

fn template(name: &str, spec: TemplateSpec) -> Template {
    Template {
        unique_name: name.into(),
        display_name: format!("{name} display"),
        spec,
        managed: false,
        created: UNIX_EPOCH,
        updated: UNIX_EPOCH,
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn tab_template(name: &str, title: &str, parameters: &[(&str, &str)], can_close: bool) -> Template {
    template(
        name,
        TemplateSpec::Tab(TabSpec {
            title: title.into(),
            page_kind: PageKind::ThirdPartyWebsite,
            parameters: map(parameters),
            can_close,
        }),
    )
}

/// A catalogue: a call session with a CRM anchor tab and a pinned notes tab, and a toast.
fn catalogue(world: &mut World) {
    let plane = &mut world.plane;
    plane
        .catalogue_mut()
        .create(
            tab_template(
                "contoso_crm",
                "Customer {customerName}",
                &[
                    ("url", "https://crm.example.com/search?q={customerName}"),
                    ("entity", "contact"),
                ],
                true,
            ),
            "tab_template",
        )
        .unwrap();
    plane
        .catalogue_mut()
        .create(
            tab_template(
                "contoso_notes",
                "Notes",
                &[("url", "https://notes.example.com/{caseId}")],
                false,
            ),
            "tab_template",
        )
        .unwrap();
    plane
        .catalogue_mut()
        .create(
            template(
                "contoso_call",
                TemplateSpec::Session(SessionSpec {
                    title: "Call from {customerName}".into(),
                    panel_mode: Some(PanelMode::Minimized),
                    anchor_tab: Some("contoso_crm".into()),
                    additional_tabs: vec!["contoso_notes".into()],
                }),
            ),
            "session_template",
        )
        .unwrap();
    plane
        .catalogue_mut()
        .create(
            template(
                "contoso_incoming",
                TemplateSpec::Notification(NotificationSpec {
                    title: "Call from {customerName}".into(),
                    fields: vec![("Queue".into(), "{queue}".into())],
                    countdown: Some(Duration::from_secs(30)),
                    accept_text: "Answer".into(),
                    show_reject: false,
                    reject_text: String::new(),
                    auto_accept: true,
                }),
            ),
            "notification_template",
        )
        .unwrap();
}

fn templated_session(agent: cif_sdk::ids::AgentId) -> NewSession {
    NewSession {
        agent,
        template: "contoso_call".into(),
        title: String::new(),
        parameters: map(&[("customerName", "Maria García"), ("caseId", "42")]),
        context: map(&[("queue", "billing")]),
        tab_parameters: BTreeMap::from([("contoso_crm".to_owned(), map(&[("entity", "account")]))]),
    }
}

#[test]
fn template_names_are_one_namespace_and_references_are_checked() {
    let mut world = World::new();
    catalogue(&mut world);
    let plane = &mut world.plane;
    let taken = plane.catalogue_mut().create(
        tab_template(
            "contoso_call",
            "x",
            &[("url", "https://x.example.com")],
            true,
        ),
        "tab_template",
    );
    assert_eq!(reason(taken), Reason::TemplateNameTaken);
    assert_eq!(
        reason(plane.catalogue().get(TemplateKind::Tab, "contoso_call")),
        Reason::TemplateKindMismatch
    );
    assert_eq!(
        reason(plane.catalogue().get(TemplateKind::Tab, "contoso_nothing")),
        Reason::TemplateNotFound
    );
    let dangling = template(
        "contoso_broken",
        TemplateSpec::Session(SessionSpec {
            title: "t".into(),
            panel_mode: None,
            anchor_tab: Some("contoso_incoming".into()),
            additional_tabs: vec![],
        }),
    );
    assert_eq!(
        reason(plane.catalogue_mut().create(dangling, "session_template")),
        Reason::TemplateKindMismatch
    );
    assert_eq!(
        reason(
            plane
                .catalogue_mut()
                .delete(TemplateKind::Tab, "contoso_notes")
        ),
        Reason::TemplateInUse
    );
    let malformed = tab_template(
        "contoso_bad",
        "Hi {name",
        &[("url", "https://x.example.com")],
        true,
    );
    let error = plane
        .catalogue_mut()
        .create(malformed, "tab_template")
        .unwrap_err();
    assert_eq!(error.reason, Reason::FieldMalformed);
    assert_eq!(error.violations[0].field, "tab_template.title");

    // An update keeps the creation time; the session template no longer needs the notes tab
    // afterwards, so that can go.
    let created = plane
        .catalogue()
        .get(TemplateKind::Session, "contoso_call")
        .unwrap()
        .created;
    let updated = plane
        .catalogue_mut()
        .update(
            TemplateKind::Session,
            "contoso_call",
            "session_template",
            |t| {
                if let TemplateSpec::Session(spec) = &mut t.spec {
                    spec.additional_tabs.clear();
                }
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(updated.created, created);
    plane
        .catalogue_mut()
        .delete(TemplateKind::Tab, "contoso_notes")
        .unwrap();
}

#[test]
fn a_session_from_a_template_gets_its_title_tabs_context_and_panel_mode() {
    let mut world = World::new();
    catalogue(&mut world);
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[]);
    world.plane.take_effects();
    let view = world
        .plane
        .create_session(phone, templated_session(agent))
        .unwrap();
    let session = view.session.clone();
    assert_eq!(session.title, "Call from Maria García");
    assert_eq!(&*session.template, "contoso_call");
    assert_eq!(
        *session.context,
        map(&[
            ("customerName", "Maria García"),
            ("caseId", "42"),
            ("queue", "billing")
        ])
        .into_iter()
        .map(|(key, value)| (key.into(), value.into()))
        .collect()
    );
    let [anchor, notes] = &session.tabs[..] else {
        panic!("two tabs: {:?}", session.tabs)
    };
    assert!(anchor.anchor && !anchor.can_close);
    assert_eq!(session.focused_tab, Some(anchor.id));
    assert_eq!(anchor.title, "Customer Maria García");
    assert_eq!(
        &*anchor.page.url, "https://crm.example.com/search?q=Maria%20Garc%C3%ADa",
        "slug values are percent-encoded in URLs"
    );
    assert_eq!(
        &*anchor.page.parameters, r#"{"entity":"account"}"#,
        "the call's parameters win"
    );
    assert!(
        !notes.anchor && !notes.can_close,
        "the template says agents cannot close it"
    );
    assert_eq!(&*notes.page.url, "https://notes.example.com/42");
    let events: Vec<_> = heard(&mut world)
        .into_iter()
        .map(|(kind, _)| kind)
        .collect();
    assert_eq!(events, ["switched", "created", "mode"]);
    assert_eq!(
        world.plane.desk(agent).unwrap().desk.panel_mode,
        PanelMode::Minimized
    );

    // A tab template the session template does not open, an unknown template, a title
    // given by the call.
    let mut stray = templated_session(agent);
    stray
        .tab_parameters
        .insert("contoso_other".into(), BTreeMap::new());
    assert_eq!(
        reason(world.plane.create_session(phone, stray)),
        Reason::TemplateNotFound
    );
    let mut unknown = templated_session(agent);
    unknown.template = "contoso_nothing".into();
    assert_eq!(
        reason(world.plane.create_session(phone, unknown)),
        Reason::TemplateNotFound
    );
    let mut titled = templated_session(agent);
    titled.title = "VIP call".into();
    let titled = world.plane.create_session(phone, titled).unwrap();
    assert_eq!(titled.session.title, "VIP call");
    assert_eq!(titled.session.title_pattern, None);
}

#[test]
fn anchor_tabs_close_with_their_session_only_and_pinned_tabs_not_by_the_agent() {
    let mut world = World::new();
    catalogue(&mut world);
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[]);
    let session = world
        .plane
        .create_session(phone, templated_session(agent))
        .unwrap()
        .session
        .clone();
    let (anchor, notes) = (session.tabs[0].id, session.tabs[1].id);
    assert_eq!(
        reason(world.plane.provider_close_tab(phone, anchor)),
        Reason::AnchorTabNotClosable
    );
    assert_eq!(
        reason(world.plane.agent_close_tab(agent, anchor)),
        Reason::AnchorTabNotClosable
    );
    assert_eq!(
        reason(world.plane.agent_close_tab(agent, notes)),
        Reason::TabNotClosable
    );
    world
        .plane
        .provider_close_tab(phone, notes)
        .expect("the provider that opened it closes it");
}

#[test]
fn a_tab_from_a_template_uses_the_calls_parameters_then_the_context() {
    let mut world = World::new();
    catalogue(&mut world);
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[]);
    let session = world
        .plane
        .create_session(phone, templated_session(agent))
        .unwrap()
        .session
        .id;
    let new = |parameters, page| NewTab {
        session,
        template: "contoso_crm".into(),
        title: String::new(),
        page,
        parameters,
        focus: false,
        expected_version: None,
    };
    let (tab, _) = world
        .plane
        .create_tab(phone, new(map(&[("customerName", "Zoë & Co")]), None))
        .unwrap();
    assert_eq!(tab.title, "Customer Zoë & Co");
    assert_eq!(
        &*tab.page.url,
        "https://crm.example.com/search?q=Zo%C3%AB%20%26%20Co"
    );
    assert_eq!(&*tab.page.parameters, r#"{"entity":"contact"}"#);
    let (from_context, _) = world
        .plane
        .create_tab(phone, new(BTreeMap::new(), None))
        .unwrap();
    assert_eq!(from_context.title, "Customer Maria García");

    let page = Some(crate::domain::desks::TabPage {
        kind: PageKind::Dashboard,
        url: "".into(),
        parameters: "".into(),
    });
    assert_eq!(
        reason(world.plane.create_tab(phone, new(BTreeMap::new(), page))),
        Reason::FieldMalformed
    );
    let mut wrong_kind = new(BTreeMap::new(), None);
    wrong_kind.template = "contoso_call".into();
    assert_eq!(
        reason(world.plane.create_tab(phone, wrong_kind)),
        Reason::TemplateKindMismatch
    );
}

#[test]
fn titles_follow_the_context_until_set_as_they_are() {
    let mut world = World::new();
    catalogue(&mut world);
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[]);
    let session = world
        .plane
        .create_session(phone, templated_session(agent))
        .unwrap()
        .session
        .id;
    world.plane.take_effects();
    world
        .plane
        .update_session_context(
            phone,
            session,
            None,
            map(&[("customerName", "Maria Garcia-Lopez")]),
            vec![],
        )
        .unwrap();
    let events: Vec<_> = heard(&mut world);
    assert_eq!(
        events,
        [
            ("context", vec![phone]),
            ("retitled", vec![phone]),
            ("tab retitled", vec![phone]),
        ],
        "the session's and the anchor tab's titles use customerName; the notes tab's does not"
    );
    let read = world
        .plane
        .provider_session(phone, session)
        .unwrap()
        .session;
    assert_eq!(read.title, "Call from Maria Garcia-Lopez");
    assert_eq!(read.tabs[0].title, "Customer Maria Garcia-Lopez");

    // A deleted slug empties; a title that fills to nothing is the template's name.
    world
        .plane
        .update_session_context(
            phone,
            session,
            None,
            BTreeMap::new(),
            vec!["customerName".into()],
        )
        .unwrap();
    let read = world
        .plane
        .provider_session(phone, session)
        .unwrap()
        .session;
    assert_eq!(read.title, "Call from ");

    world
        .plane
        .set_session_title(phone, session, None, "Escalated".into())
        .unwrap();
    world.plane.take_effects();
    world
        .plane
        .update_session_context(
            phone,
            session,
            None,
            map(&[("customerName", "Ana")]),
            vec![],
        )
        .unwrap();
    let kinds: Vec<_> = heard(&mut world)
        .into_iter()
        .map(|(kind, _)| kind)
        .collect();
    assert_eq!(
        kinds,
        ["context", "tab retitled"],
        "the session's title no longer follows"
    );
}

#[test]
fn a_toast_from_a_template_takes_its_contents_and_fills_its_slugs() {
    let mut world = World::new();
    catalogue(&mut world);
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[]);
    let session = world
        .plane
        .create_session(phone, templated_session(agent))
        .unwrap()
        .session
        .id;
    let now = SystemTime::now();
    world.plane.desk_connected(agent, now);
    let id = NotificationId::generate();
    let toast = |parameters| NewToast {
        agent,
        id,
        session: Some(session),
        content: ToastContent {
            title: String::new(),
            fields: vec![],
            countdown: None,
            accept_text: String::new(),
            show_reject: true,
            reject_text: String::new(),
            auto_accept: false,
        },
        template: "contoso_incoming".into(),
        parameters,
    };
    let raised = world
        .plane
        .raise_toast(phone, toast(map(&[("customerName", "Ana")])), now)
        .unwrap();
    assert!(matches!(raised, Raised::Pending(_)));
    let desk = world.plane.desk(agent).unwrap();
    let shown = desk.toasts[0];
    assert_eq!(
        shown.content.title, "Call from Ana",
        "the call's parameters first"
    );
    assert_eq!(
        shown.content.fields,
        [("Queue".to_owned(), "billing".to_owned())],
        "then the session's context"
    );
    assert_eq!(shown.content.countdown, Some(Duration::from_secs(30)));
    assert_eq!(shown.content.accept_text, "Answer");
    assert!(!shown.content.show_reject && shown.content.auto_accept);

    // The same id and parameters wait for the same toast; other parameters are another.
    assert!(matches!(
        world
            .plane
            .raise_toast(phone, toast(map(&[("customerName", "Ana")])), now),
        Ok(Raised::Pending(_))
    ));
    assert_eq!(
        reason(
            world
                .plane
                .raise_toast(phone, toast(map(&[("customerName", "Bo")])), now)
        ),
        Reason::NotificationIdReused
    );
}
