//! Rule 11 under concurrency: providers create sessions while agents switch and close them,
//! all at once; every provider's stream must hold exactly the events of its own sessions, in
//! sequence order, none missing and none foreign, and every agent's stream its whole desk.
//! The operator's watch is the reference: it sees every event.
//!
//! Randomised: the seed is printed; set CIF_TEST_SEED to replay one.

use std::collections::BTreeMap;

use cif_e2e::random::{Rng, test_seed};
use cif_e2e::{Harness, Options, caught_up, event_owner, events_until};
use cif_sdk::pb;

const PROVIDERS: usize = 3;
const AGENTS: usize = 4;
const CREATES_PER_PROVIDER: usize = 120;
const ACTIONS_PER_AGENT: usize = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_stream_holds_exactly_its_share_under_concurrency() {
    let seed = test_seed("isolation");
    let harness =
        Harness::start_with(Options::default().arg("--heartbeat-interval").arg("100ms")).await;
    let mut providers = Vec::new();
    for index in 0..PROVIDERS {
        providers.push(harness.provider(&format!("prov{index}_x")).await);
    }
    let mut agents = Vec::new();
    for index in 0..AGENTS {
        let agent = harness.agent(&format!("Agent {index}"), &[]).await;
        harness
            .admin
            .update_agent(pb::UpdateAgentRequest {
                agent: Some(pb::Agent {
                    id: agent.id().into(),
                    limits: Some(pb::AgentLimits {
                        max_open_sessions: 1000,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                update_mask: None,
                ..Default::default()
            })
            .await
            .unwrap();
        agents.push(agent);
    }

    let mut watch = caught_up(harness.admin.watch(false)).await;
    let mut provider_streams = Vec::new();
    for provider in &providers {
        provider_streams.push(caught_up(provider.client.subscribe(vec![], false)).await);
    }
    let mut agent_streams = Vec::new();
    for agent in &agents {
        agent_streams.push(caught_up(agent.client.subscribe(false)).await);
    }

    // Writers: providers create on random desks; agents switch to and close random sessions
    // of their desk. All at once.
    let mut writers = tokio::task::JoinSet::new();
    for (index, provider) in providers.iter().enumerate() {
        let client = provider.client.clone();
        let agent_ids: Vec<String> = agents.iter().map(|agent| agent.id().to_owned()).collect();
        let mut rng = Rng::new(seed.wrapping_add(index as u64 * 7919));
        writers.spawn(async move {
            for round in 0..CREATES_PER_PROVIDER {
                let agent_id = agent_ids[rng.index(agent_ids.len())].clone();
                client
                    .create_session(pb::CreateSessionRequest {
                        agent_id,
                        title: format!("round {round}"),
                        ..Default::default()
                    })
                    .await
                    .expect("creates succeed under the raised limit");
            }
        });
    }
    for (index, agent) in agents.iter().enumerate() {
        let client = agent.client.clone();
        let mut rng = Rng::new(seed.wrapping_add(1_000_003 + index as u64 * 104_729));
        writers.spawn(async move {
            for _ in 0..ACTIONS_PER_AGENT {
                let desk = client
                    .get_desk(pb::GetDeskRequest {})
                    .await
                    .unwrap()
                    .desk
                    .unwrap();
                if desk.sessions.is_empty() {
                    tokio::task::yield_now().await;
                    continue;
                }
                let target = desk.sessions[rng.index(desk.sessions.len())].id.clone();
                // Only this agent changes its desk's sessions, so the target is still open.
                if rng.index(3) == 0 {
                    client
                        .close_session(pb::CloseSessionRequest {
                            session_id: target,
                            ..Default::default()
                        })
                        .await
                        .unwrap();
                } else {
                    client
                        .switch_session(pb::SwitchSessionRequest {
                            session_id: target,
                            ..Default::default()
                        })
                        .await
                        .unwrap();
                }
            }
        });
    }
    while let Some(result) = writers.join_next().await {
        result.expect("a writer finished");
    }
    let last = harness
        .admin
        .get_server_info(pb::GetServerInfoRequest {})
        .await
        .unwrap()
        .sequence;

    let everything = events_until(&mut watch, last).await;
    let sequences: Vec<u64> = everything.iter().map(|(sequence, _)| *sequence).collect();
    let first = sequences[0];
    assert_eq!(
        sequences,
        (first..=last).collect::<Vec<_>>(),
        "the watch saw every event once, in order"
    );
    assert!(
        everything.len() > PROVIDERS * CREATES_PER_PROVIDER,
        "{} events",
        everything.len()
    );

    for (provider, stream) in providers.iter().zip(&mut provider_streams) {
        let got = events_until(stream, last).await;
        let expected: Vec<_> = everything
            .iter()
            .filter(|(_, event)| event_owner(event) == provider.id())
            .cloned()
            .collect();
        assert!(
            got.iter()
                .all(|(_, event)| event_owner(event) == provider.id()),
            "a foreign event reached {}",
            provider.id()
        );
        assert_eq!(
            got.len(),
            expected.len(),
            "provider {} missed or repeated events",
            provider.id()
        );
        assert_eq!(
            got,
            expected,
            "provider {}'s stream differs from its share of the log",
            provider.id()
        );
    }
    let mut per_agent: BTreeMap<&str, usize> = BTreeMap::new();
    for (agent, stream) in agents.iter().zip(&mut agent_streams) {
        let got = events_until(stream, last).await;
        let expected: Vec<_> = everything
            .iter()
            .filter(|(_, event)| event.agent_id == agent.id())
            .cloned()
            .collect();
        assert_eq!(
            got,
            expected,
            "agent {}'s stream differs from its desk's share of the log",
            agent.id()
        );
        per_agent.insert(agent.id(), got.len());
    }
    println!(
        "{} events in all; per agent {per_agent:?}",
        everything.len()
    );
}
