//! An agent's desk: it prints its stream, accepts toasts, looks away from a new session (back
//! to home) and, when that session asks for attention, switches to it and closes it.
//!
//! ```sh
//! CIF_ENDPOINT=http://127.0.0.1:50051 CIF_CREDENTIAL=cifa_... \
//!     cargo run -p cif-sdk --example agent_desk
//! ```

use std::time::Duration;

use cif_sdk::{AgentClient, Error, Update, pb};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let endpoint =
        std::env::var("CIF_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:50051".into());
    let credential = std::env::var("CIF_CREDENTIAL").expect("set CIF_CREDENTIAL");
    let desk = AgentClient::new(cif_sdk::connect(&endpoint).await?, &credential)?;
    let mut stream =
        AgentClient::new(cif_sdk::connect(&endpoint).await?, &credential)?.subscribe(true);
    let mut home = String::new();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while let Ok(Some(update)) = tokio::time::timeout_at(deadline, stream.next()).await {
        let event = match update? {
            Update::Snapshot {
                items, sequence, ..
            } => {
                if let Some(pb::snapshot_item::Item::Desk(snapshot)) =
                    items.into_iter().next().and_then(|i| i.item)
                {
                    home = snapshot.home_session.unwrap_or_default().id;
                    println!(
                        "desk at {sequence}: {} open session(s); caught up",
                        snapshot.sessions.len()
                    );
                }
                continue;
            }
            Update::Heartbeat { .. } => continue,
            Update::Event {
                sequence, event, ..
            } => {
                println!("{sequence}: {}", summary(&event));
                event
            }
        };
        match event.kind {
            Some(pb::event::Kind::NotificationShown(shown)) => {
                let toast = shown.notification.unwrap_or_default();
                desk.respond_to_notification(pb::RespondToNotificationRequest {
                    provider_id: toast.provider_id,
                    notification_id: toast.notification_id,
                    accept: true,
                    ..Default::default()
                })
                .await?;
                println!("accepted the toast");
            }
            Some(pb::event::Kind::SessionCreated(created)) => {
                let session = created.session.unwrap_or_default();
                // Busy with something else: back to home for now.
                tokio::time::sleep(Duration::from_millis(200)).await;
                desk.switch_session(pb::SwitchSessionRequest {
                    session_id: home.clone(),
                    ..Default::default()
                })
                .await?;
                println!("switched to home, away from {}", session.title);
            }
            Some(pb::event::Kind::SessionMarksChanged(marked)) => {
                let session = marked.session.unwrap_or_default();
                if session.marks.is_some_and(|marks| marks.attention_requested) {
                    desk.switch_session(pb::SwitchSessionRequest {
                        session_id: session.id.clone(),
                        ..Default::default()
                    })
                    .await?;
                    desk.close_session(pb::CloseSessionRequest {
                        session_id: session.id.clone(),
                        ..Default::default()
                    })
                    .await?;
                    println!("switched to {} and closed it", session.title);
                }
            }
            Some(pb::event::Kind::SessionClosed(_)) => {
                println!("done");
                return Ok(());
            }
            _ => {}
        }
    }
    Err(tonic::Status::deadline_exceeded("no session was closed within 60 s").into())
}

/// One line about an event.
fn summary(event: &pb::Event) -> String {
    use pb::event::Kind;
    match &event.kind {
        Some(Kind::SessionCreated(e)) => format!(
            "session created: {}",
            e.session.as_ref().map_or("", |s| &s.title)
        ),
        Some(Kind::SessionSwitched(e)) => format!(
            "session {} {}",
            e.session.as_ref().map_or("", |s| &s.title),
            if e.focused { "focused" } else { "unfocused" }
        ),
        Some(Kind::SessionClosed(e)) => format!(
            "session closed: {}",
            e.session.as_ref().map_or("", |s| &s.title)
        ),
        Some(Kind::SessionMarksChanged(_)) => "session marks changed".into(),
        Some(Kind::TabCreated(e)) => {
            format!("tab opened: {}", e.tab.as_ref().map_or("", |t| &t.title))
        }
        Some(Kind::NotificationShown(e)) => format!(
            "toast: {}",
            e.notification.as_ref().map_or("", |n| &n.title)
        ),
        Some(Kind::NotificationResolved(e)) => {
            format!("toast ended: {:?}", e.result.as_ref().map(|r| r.outcome()))
        }
        Some(other) => format!("{other:?}"),
        None => "an event of a newer kind".into(),
    }
}
