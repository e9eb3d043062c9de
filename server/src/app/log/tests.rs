//! The log alone: numbering, filtering, resuming, lagging, limits and endings.

use std::collections::BTreeSet;
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId, SessionId};

use std::sync::Arc;

use uuid::Uuid;

use super::*;
use crate::domain::desks::{Session, SessionKind};
use crate::domain::events::{Event, Scope};
use crate::domain::events::{EventKind, SessionSnapshot};
use crate::domain::{DomainError, Principal, Reason};

fn closed(agent: AgentId, owner: ProviderId) -> Event {
    let session = Session {
        id: SessionId::generate(),
        agent,
        kind: SessionKind::Provider(owner),
        template: "".into(),
        title: "t".into(),
        title_pattern: None,
        context: Default::default(),
        created: SystemTime::now(),
        closed: None,
        tabs: Vec::new(),
        focused_tab: None,
        marks: Default::default(),
        version: 0,
    };
    Event {
        agent,
        time: SystemTime::now(),
        providers: vec![owner],
        kind: EventKind::SessionClosed {
            session: Box::new(SessionSnapshot {
                session: session.into(),
                focused: false,
                owner: None,
            }),
        },
    }
}

/// Numbers events after the newest one and publishes them, as the core does once they are
/// durable.
fn publish(log: &mut EventLog, events: Vec<Event>) {
    let first = log.last_sequence() + 1;
    let numbered: Vec<Arc<Logged>> = events
        .into_iter()
        .zip(first..)
        .map(|(event, sequence)| Arc::new(Logged { sequence, event }))
        .collect();
    log.append(&numbered);
}

fn settings(history: usize, queue: usize) -> LogSettings {
    LogSettings {
        history,
        history_age: std::time::Duration::from_secs(3600),
        queue,
        max_streams_per_principal: 2,
    }
}

fn provider_scope(provider: ProviderId) -> Scope {
    Scope::Provider {
        provider,
        agents: None,
    }
}

/// Everything queued so far, as (kind, sequence).
fn drain(registration: &mut Registration) -> Vec<(&'static str, u64)> {
    let mut seen: Vec<_> = registration
        .backlog
        .drain(..)
        .map(|logged| ("event", logged.sequence))
        .collect();
    while let Ok(delivery) = registration.queue.try_recv() {
        seen.push(match delivery {
            Delivery::Event(logged) => ("event", logged.sequence),
            Delivery::Heartbeat(sequence) => ("heartbeat", sequence),
        });
    }
    seen
}

#[test]
fn sequences_increase_by_one_and_streams_see_only_their_scope() {
    let mut log = EventLog::new(settings(100, 100));
    let (ada, bob) = (AgentId::generate(), AgentId::generate());
    let (chat, phone) = (ProviderId::generate(), ProviderId::generate());
    let mut chat_stream = log
        .subscribe(
            provider_scope(chat),
            Start::Now {
                sequence: log.last_sequence(),
            },
        )
        .unwrap();
    let mut ada_stream = log
        .subscribe(
            Scope::Agent(ada),
            Start::Now {
                sequence: log.last_sequence(),
            },
        )
        .unwrap();
    let mut narrowed = log
        .subscribe(
            Scope::Provider {
                provider: chat,
                agents: Some(BTreeSet::from([bob])),
            },
            Start::Now {
                sequence: log.last_sequence(),
            },
        )
        .unwrap();
    let mut everything = log
        .subscribe(
            Scope::Everything(crate::domain::Operator::Configured),
            Start::Now {
                sequence: log.last_sequence(),
            },
        )
        .unwrap();
    publish(
        &mut log,
        vec![closed(ada, chat), closed(ada, phone), closed(bob, chat)],
    );
    assert_eq!(log.last_sequence(), 3);
    assert_eq!(
        drain(&mut chat_stream),
        [("heartbeat", 0), ("event", 1), ("event", 3)]
    );
    assert_eq!(
        drain(&mut ada_stream),
        [("heartbeat", 0), ("event", 1), ("event", 2)]
    );
    assert_eq!(drain(&mut narrowed), [("heartbeat", 0), ("event", 3)]);
    assert_eq!(
        drain(&mut everything),
        [("heartbeat", 0), ("event", 1), ("event", 2), ("event", 3)]
    );
}

#[test]
fn resuming_serves_exactly_the_missed_events_or_says_why_not() {
    let mut log = EventLog::new(settings(3, 100));
    let (ada, chat) = (AgentId::generate(), ProviderId::generate());
    publish(&mut log, (0..5).map(|_| closed(ada, chat)).collect());
    // History keeps 3..=5.
    let log_id = log.log_id();
    let after = |sequence| Start::After { log_id, sequence };
    let mut resumed = log.subscribe(provider_scope(chat), after(3)).unwrap();
    assert_eq!(resumed.sequence, 5);
    assert_eq!(
        drain(&mut resumed),
        [("event", 4), ("event", 5), ("heartbeat", 5)]
    );
    let mut from_oldest = log.subscribe(Scope::Agent(ada), after(2)).unwrap();
    assert_eq!(
        drain(&mut from_oldest).len(),
        4,
        "3, 4, 5 and the heartbeat"
    );

    let error = log.subscribe(Scope::Agent(ada), after(1)).err().unwrap();
    assert_eq!(error.reason, Reason::ResumePointCompacted);
    assert!(error.message.contains("snapshot = true"));
    let error = log.subscribe(Scope::Agent(ada), after(6)).err().unwrap();
    assert_eq!(error.reason, Reason::ResumePointAhead);
    let other = Start::After {
        log_id: Uuid::new_v4(),
        sequence: 4,
    };
    let error = log
        .subscribe(
            Scope::Everything(crate::domain::Operator::Configured),
            other,
        )
        .err()
        .unwrap();
    assert_eq!(error.reason, Reason::LogChanged);
}

#[test]
fn a_full_queue_ends_only_that_stream_after_what_it_holds() {
    let mut log = EventLog::new(settings(100, 2));
    let (ada, chat) = (AgentId::generate(), ProviderId::generate());
    let mut slow = log
        .subscribe(
            Scope::Agent(ada),
            Start::Now {
                sequence: log.last_sequence(),
            },
        )
        .unwrap();
    let mut everything = log
        .subscribe(
            Scope::Everything(crate::domain::Operator::Configured),
            Start::Now {
                sequence: log.last_sequence(),
            },
        )
        .unwrap();
    let mut keeps_up = Vec::new();
    for _ in 0..5 {
        publish(&mut log, vec![closed(ada, chat)]);
        keeps_up.extend(drain(&mut everything));
    }
    assert_eq!(keeps_up.len(), 6, "the heartbeat and five events");
    assert_eq!(log.open_streams(), 1);
    // The slow one got what fitted, then its queue closed with the lag as the reason.
    assert_eq!(
        drain(&mut slow),
        [("heartbeat", 0), ("event", 1), ("event", 2)]
    );
    assert_eq!(
        slow.ending.reason().unwrap().reason,
        Reason::SubscriberLagged
    );
    assert!(slow.queue.try_recv().is_err());
}

#[test]
fn streams_per_principal_are_capped_and_freed_on_unsubscribe() {
    let mut log = EventLog::new(settings(10, 10));
    let chat = ProviderId::generate();
    let first = log
        .subscribe(
            provider_scope(chat),
            Start::Now {
                sequence: log.last_sequence(),
            },
        )
        .unwrap();
    let _second = log
        .subscribe(
            provider_scope(chat),
            Start::Now {
                sequence: log.last_sequence(),
            },
        )
        .unwrap();
    let error = log
        .subscribe(
            provider_scope(chat),
            Start::Now {
                sequence: log.last_sequence(),
            },
        )
        .err()
        .unwrap();
    assert_eq!(error.reason, Reason::StreamLimitReached);
    assert!(
        log.subscribe(
            provider_scope(ProviderId::generate()),
            Start::Now {
                sequence: log.last_sequence()
            }
        )
        .is_ok()
    );
    log.unsubscribe(first.id);
    assert!(
        log.subscribe(
            provider_scope(chat),
            Start::Now {
                sequence: log.last_sequence()
            }
        )
        .is_ok()
    );
}

#[test]
fn ending_a_principals_streams_leaves_the_others() {
    let mut log = EventLog::new(settings(10, 10));
    let (chat, phone) = (ProviderId::generate(), ProviderId::generate());
    let chat_stream = log
        .subscribe(
            provider_scope(chat),
            Start::Now {
                sequence: log.last_sequence(),
            },
        )
        .unwrap();
    let phone_stream = log
        .subscribe(
            provider_scope(phone),
            Start::Now {
                sequence: log.last_sequence(),
            },
        )
        .unwrap();
    let why = DomainError::new(Reason::ProviderInactive, "inactive");
    log.end_streams_of(Principal::Provider(chat), &why);
    assert_eq!(chat_stream.ending.reason(), Some(why));
    assert!(phone_stream.ending.reason().is_none());
    assert_eq!(log.open_streams(), 1);
}

#[test]
fn heartbeats_carry_the_newest_sequence() {
    let mut log = EventLog::new(settings(10, 10));
    let ada = AgentId::generate();
    let mut stream = log
        .subscribe(
            Scope::Agent(ada),
            Start::Now {
                sequence: log.last_sequence(),
            },
        )
        .unwrap();
    publish(
        &mut log,
        vec![closed(AgentId::generate(), ProviderId::generate())],
    );
    log.heartbeat(Slice::ALL);
    assert_eq!(drain(&mut stream), [("heartbeat", 0), ("heartbeat", 1)]);
}

#[test]
fn heartbeats_go_out_a_slice_of_the_streams_at_a_time_and_reach_each_once_a_round() {
    let mut log = EventLog::new(settings(10, 10));
    let mut streams: Vec<_> = (0..4)
        .map(|_| {
            log.subscribe(
                Scope::Agent(AgentId::generate()),
                Start::Now {
                    sequence: log.last_sequence(),
                },
            )
            .unwrap()
        })
        .collect();
    for stream in &mut streams {
        assert_eq!(drain(stream), [("heartbeat", 0)], "the catch-up");
    }
    log.heartbeat(Slice { index: 1, of: 2 });
    let reached: Vec<usize> = streams
        .iter_mut()
        .map(|stream| drain(stream).len())
        .collect();
    assert_eq!(
        reached.iter().sum::<usize>(),
        2,
        "half of them: {reached:?}"
    );
    log.heartbeat(Slice { index: 0, of: 2 });
    let others: Vec<usize> = streams
        .iter_mut()
        .map(|stream| drain(stream).len())
        .collect();
    let each: Vec<usize> = reached.iter().zip(&others).map(|(a, b)| a + b).collect();
    assert_eq!(each, [1, 1, 1, 1], "each once in a round");
}
