//! A telephony provider, start to finish: it offers the agent an incoming call with a toast;
//! on accept it opens a call session with a customer tab; when the agent looks elsewhere and
//! the caller says more, it asks for attention; when the agent closes the session it is done.
//!
//! ```sh
//! CIF_ENDPOINT=http://127.0.0.1:50051 CIF_CREDENTIAL=cifp_... CIF_AGENT_ID=... \
//!     cargo run -p cif-sdk --example telephony_provider
//! ```

use std::time::Duration;

use cif_sdk::{Error, ProviderClient, Update, pb};

fn setting(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("set {name}"))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let endpoint =
        std::env::var("CIF_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:50051".into());
    let agent_id = setting("CIF_AGENT_ID");
    let credential = setting("CIF_CREDENTIAL");
    // Events on a channel of their own, so calls never wait behind an unread stream.
    let phone = ProviderClient::new(cif_sdk::connect(&endpoint).await?, &credential)?;
    let mut events = ProviderClient::new(cif_sdk::connect(&endpoint).await?, &credential)?
        .subscribe(vec![agent_id.clone()], false);
    events.next().await.transpose()?; // the catch-up heartbeat: we hear everything from now

    // Ask the agent first (CIF's good practice), with a toast that waits for an answer.
    let answer = phone
        .notify_event(pb::NotifyEventRequest {
            agent_id: agent_id.clone(),
            notification_id: uuid_like(),
            title: "Incoming call".into(),
            fields: vec![pb::NotificationField {
                label: "Caller".into(),
                value: "+1 555 0100".into(),
            }],
            countdown_seconds: Some(30),
            ..Default::default()
        })
        .await?
        .result
        .unwrap_or_default();
    println!("toast answered: {:?}", answer.outcome());
    if answer.outcome() != pb::NotificationOutcome::Accepted {
        return Ok(());
    }

    let session = phone
        .create_session(pb::CreateSessionRequest {
            agent_id: agent_id.clone(),
            title: "Call from +1 555 0100".into(),
            context: [("phoneNumber".to_string(), "+15550100".to_string())].into(),
            ..Default::default()
        })
        .await?
        .session
        .unwrap_or_default();
    println!("call session {} opened", session.id);
    let tab = phone
        .create_tab(pb::CreateTabRequest {
            session_id: session.id.clone(),
            title: "Customer".into(),
            page: Some(pb::TabPage {
                kind: pb::PageKind::ThirdPartyWebsite as i32,
                url: "https://crm.example.com/lookup?phone=%2B15550100".into(),
                parameters: String::new(),
            }),
            focus: true,
            ..Default::default()
        })
        .await?
        .tab
        .unwrap_or_default();
    println!("customer tab {} opened", tab.id);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while let Ok(Some(update)) = tokio::time::timeout_at(deadline, events.next()).await {
        let Update::Event { event, .. } = update? else {
            continue;
        };
        match event.kind {
            Some(pb::event::Kind::SessionSwitched(switched))
                if !switched.focused
                    && switched
                        .session
                        .as_ref()
                        .is_some_and(|s| s.id == session.id) =>
            {
                // The agent looks elsewhere and the caller keeps talking: flag it, don't switch.
                phone
                    .notify_new_activity(pb::NotifyNewActivityRequest {
                        session_id: session.id.clone(),
                        count: 1,
                        ..Default::default()
                    })
                    .await?;
                let asked = phone
                    .request_focus_session(pb::RequestFocusSessionRequest {
                        session_id: session.id.clone(),
                        messages_count: 1,
                        ..Default::default()
                    })
                    .await?;
                println!(
                    "asked for attention (already focused: {})",
                    asked.already_focused
                );
            }
            Some(pb::event::Kind::SessionClosed(closed))
                if closed.session.as_ref().is_some_and(|s| s.id == session.id) =>
            {
                println!("the agent closed the call session: done");
                return Ok(());
            }
            _ => {}
        }
    }
    Err(tonic::Status::deadline_exceeded("the call session was not closed within 60 s").into())
}

/// A fresh notification id (a UUID v4 built from the clock and the process id, so the example
/// needs no extra crate).
fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let bits = nanos ^ (u128::from(std::process::id()) << 64);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}
