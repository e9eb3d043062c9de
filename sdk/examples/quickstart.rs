//! The README's SDK walkthrough: an operator sets up a provider and an agent, the provider
//! starts a session on the agent's desk and follows its events, and the agent reads its desk
//! and closes the session, which the provider hears.
//!
//! Run against a cifd started with the same operator token:
//!
//! ```sh
//! CIF_ADMIN_TOKEN=... cargo run -p cif-sdk --example quickstart -- http://127.0.0.1:50051
//! ```

use cif_sdk::{AdminClient, AgentClient, Error, ProviderClient, Update, pb};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let endpoint = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:50051".into());
    let operator_token =
        std::env::var("CIF_ADMIN_TOKEN").expect("set CIF_ADMIN_TOKEN to cifd's operator token");
    let channel = cif_sdk::connect(endpoint).await?;

    // The operator registers a provider and an agent; each credential is shown once.
    let admin = AdminClient::new(channel.clone(), &operator_token)?;
    let unique_name = format!("demo_{}", std::process::id());
    let created = admin
        .create_provider(pb::CreateProviderRequest {
            provider: Some(pb::Provider {
                unique_name: unique_name.clone(),
                display_name: "Demo telephony".into(),
                label: "Phone".into(),
                channel_url: "https://phone.example.com/widget".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?;
    let provider_record = created.provider.unwrap_or_default();
    let agent = admin
        .create_agent(pb::CreateAgentRequest {
            agent: Some(pb::Agent {
                display_name: "Ada".into(),
                provider_ids: vec![provider_record.id.clone()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?;
    let agent_record = agent.agent.unwrap_or_default();
    println!(
        "provider {} and agent {} created",
        unique_name, agent_record.id
    );

    // The provider starts a session on Ada's desk: it owns it, and the session takes focus.
    let provider = ProviderClient::new(channel.clone(), &created.credential)?;
    let room = provider
        .can_create_session(pb::CanCreateSessionRequest {
            agent_id: agent_record.id.clone(),
        })
        .await?;
    println!("room for {} more sessions", room.remaining);
    let session = provider
        .create_session(pb::CreateSessionRequest {
            agent_id: agent_record.id.clone(),
            title: "Call from +1 555 0100".into(),
            context: [("customerName".to_string(), "Maria".to_string())].into(),
            ..Default::default()
        })
        .await?
        .session
        .unwrap_or_default();
    println!(
        "session {} owned by {}",
        session.session_id().expect("a UUID"),
        unique_name
    );

    // Asking for a session that is not ours fails with a stable reason to branch on.
    let missing = provider
        .get_session(pb::GetSessionRequest {
            session_id: "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11".into(),
        })
        .await
        .expect_err("no such session");
    println!(
        "unknown session: {:?} {}",
        missing.code(),
        missing.reason().unwrap_or_default()
    );

    // The provider follows its sessions' events. The subscription resumes by itself after a
    // disconnect; the first update it yields is the heartbeat that says it has caught up.
    let mut events = provider.subscribe(Vec::new(), false);
    if let Some(Err(error)) = events.next().await {
        return Err(error);
    }

    // The agent's desktop sees its whole desk, and only the agent can close a session.
    let agent_client = AgentClient::new(channel, &agent.credential)?;
    let desk = agent_client
        .get_desk(pb::GetDeskRequest {})
        .await?
        .desk
        .unwrap_or_default();
    println!(
        "desk: {} open session(s), focused {}",
        desk.sessions.len(),
        if desk.focused_session_id == session.id {
            "the new session"
        } else {
            "another session"
        }
    );
    agent_client
        .close_session(pb::CloseSessionRequest {
            session_id: session.id.clone(),
            ..Default::default()
        })
        .await?;
    while let Some(update) = events.next().await {
        if let Update::Event {
            sequence, event, ..
        } = update?
            && let Some(pb::event::Kind::SessionClosed(closed)) = event.kind
        {
            let closed = closed.session.unwrap_or_default();
            println!(
                "provider heard at sequence {sequence}: session {} closed",
                closed.id
            );
            break;
        }
    }
    Ok(())
}
