//! One writer per PostgreSQL database, fenced: a cifd that lost the database (paused past its
//! lease while another took over, or cut off from PostgreSQL) never commits again, so nothing
//! it could not store is acknowledged, and the log stays dense.

use std::net::SocketAddr;

use cif_e2e::{BlackHole, Cifd, Harness, Options, Postgres, eventually, session_for};
use cif_sdk::{AdminClient, ProviderClient};

/// Sessions whose stored record holds `title` (the record is protobuf; its texts are plain).
fn stored_sessions_titled(cluster: &Postgres, title: &str) -> u64 {
    cluster
        .sql(
            "cifd",
            &format!(
                "SELECT count(*) FROM cifd_records
                 WHERE kind = 'session' AND position('{title}'::bytea in body) > 0"
            ),
        )
        .parse()
        .unwrap()
}

/// The stored events' sequences have no gap.
fn assert_dense(cluster: &Postgres) {
    let dense = cluster.sql(
        "cifd",
        "SELECT count(*) = max(sequence) - min(sequence) + 1 FROM cifd_events",
    );
    assert_eq!(dense, "t", "the stored log has no gap");
}

/// Waits for `cifd` to exit, and returns its exit code.
async fn exit_code(cifd: &mut Cifd) -> i32 {
    eventually("cifd exits", async || {
        cifd.exit_status().map(|status| status.code().unwrap_or(-1))
    })
    .await
}

#[tokio::test]
async fn a_writer_paused_past_its_lease_commits_nothing_once_another_took_over() {
    let cluster = Postgres::start();
    let url = cluster.new_database("cifd");
    let first = Harness::start_with(Options::postgres(&cluster, &url)).await;
    let provider = first.provider("contoso_chat").await;
    let agent = first.agent("Ada", &[]).await;
    provider
        .client
        .create_session(session_for(&agent, "before the pause"))
        .await
        .unwrap();

    // Paused (as by a long GC stop or a frozen VM), it keeps its PostgreSQL session but not
    // its lease.
    first.cifd.signal("STOP");
    eventually("the paused writer's lease expires", async || {
        (cluster.sql("cifd", "SELECT expires_at <= now() FROM cifd_lease") == "t").then_some(())
    })
    .await;
    let second = Cifd::start_with(Options::postgres(&cluster, &url));
    let second_provider =
        ProviderClient::new(second.channel().await, &provider.credential).unwrap();
    second_provider
        .create_session(session_for(&agent, "on the new writer"))
        .await
        .expect("the new writer acknowledges");

    // Resumed, the old writer believes it still leads; its commits are refused.
    let mut old = first.cifd;
    old.signal("CONT");
    let late = provider
        .client
        .create_session(session_for(&agent, "after the resume"))
        .await;
    assert!(late.is_err(), "the deposed writer acknowledged {late:?}");
    assert_eq!(exit_code(&mut old).await, 70, "{}", old.log());
    assert!(old.log().contains("another cifd took"), "{}", old.log());

    assert_eq!(stored_sessions_titled(&cluster, "before the pause"), 1);
    assert_eq!(stored_sessions_titled(&cluster, "on the new writer"), 1);
    assert_eq!(stored_sessions_titled(&cluster, "after the resume"), 0);
    assert_dense(&cluster);
    let admin: AdminClient = second.admin().await;
    let info = admin.get_server_info(Default::default()).await.unwrap();
    let stored: u64 = cluster
        .sql(
            "cifd",
            "SELECT value FROM cifd_meta WHERE key = 'last_sequence'",
        )
        .parse()
        .unwrap();
    assert_eq!(
        info.sequence, stored,
        "the new writer's log is what is stored"
    );
}

#[tokio::test]
async fn a_writer_cut_off_from_postgresql_stops_acknowledging() {
    let cluster = Postgres::start();
    let url = cluster.new_database("cifd");
    let harness = Harness::start_with(Options::postgres(&cluster, &url)).await;
    let provider = harness.provider("contoso_chat").await;
    let agent = harness.agent("Ada", &[]).await;
    provider
        .client
        .create_session(session_for(&agent, "while connected"))
        .await
        .unwrap();

    // The database ends the writer's connection (an operator, a failover of PostgreSQL).
    let ended = cluster.sql(
        "cifd",
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'cifd'",
    );
    assert_eq!(ended, "1", "cifd's one connection");
    let late = provider
        .client
        .create_session(session_for(&agent, "after the cut"))
        .await;
    assert!(late.is_err(), "acknowledged without a database: {late:?}");
    let mut cifd = harness.cifd;
    assert_eq!(exit_code(&mut cifd).await, 70, "{}", cifd.log());
    assert_eq!(stored_sessions_titled(&cluster, "while connected"), 1);
    assert_eq!(stored_sessions_titled(&cluster, "after the cut"), 0);
    assert_dense(&cluster);
}

/// A partition that drops the writer's packets to PostgreSQL (no error ever comes, only
/// silence): the writer acknowledges nothing more and stops within seconds, and a follower
/// that still reaches the database takes over. Every acknowledged call is stored once.
#[tokio::test]
async fn a_writer_whose_packets_are_dropped_stops_and_a_follower_takes_over() {
    let cluster = Postgres::start();
    let url = cluster.new_database("cifd");
    let relay = BlackHole::relaying_to(SocketAddr::from(([127, 0, 0, 1], cluster.port())));
    let through_relay = format!("postgres://cifd@{}/cifd", relay.address());
    let writer = Harness::start_with(Options::postgres(&cluster, &through_relay)).await;
    let follower = Cifd::start_with(Options::postgres(&cluster, &url));
    let provider = writer.provider("contoso_chat").await;
    let agent = writer.agent("Ada", &[]).await;
    let on_follower = ProviderClient::new(follower.channel().await, &provider.credential).unwrap();
    on_follower
        .create_session(session_for(&agent, "before the partition"))
        .await
        .expect("forwarded to the writer while it reaches the database");

    relay.swallow_everything();
    // Bounded, so a writer that hangs for ever fails the test instead of hanging it.
    let late = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        provider
            .client
            .create_session(session_for(&agent, "into the partition")),
    )
    .await;
    assert!(
        matches!(late, Ok(Err(_))),
        "an answer, and no acknowledgement: {late:?}"
    );
    let mut writer = writer.cifd;
    assert_eq!(exit_code(&mut writer).await, 70, "{}", writer.log());
    assert!(
        writer.log().contains("the store has not answered"),
        "{}",
        writer.log()
    );

    let mut after = session_for(&agent, "after the takeover");
    after.request_id = "0199f0c8-51c4-7bb0-9d8e-000000000001".into();
    eventually("the follower takes over and acknowledges", async || {
        on_follower.create_session(after.clone()).await.ok()
    })
    .await;
    assert_eq!(stored_sessions_titled(&cluster, "before the partition"), 1);
    assert_eq!(stored_sessions_titled(&cluster, "into the partition"), 0);
    assert_eq!(stored_sessions_titled(&cluster, "after the takeover"), 1);
    assert_dense(&cluster);
}
