//! What the PostgreSQL store keeps besides the state: the answers to calls with a request id,
//! trimmed to `--request-ids` (once a tenth over), a retry of a kept one answered as before,
//! across a restart too; and the retained history trimmed to `--history-events`.

use cif_e2e::{Harness, Options, Postgres, Stop, restart, session_for};

fn on(cluster: &Postgres, url: &str) -> Options {
    Options::postgres(cluster, url)
        .arg("--request-ids")
        .arg("10")
        .arg("--history-events")
        .arg("20")
        .arg("--default-max-open-sessions")
        .arg("100")
}

fn count(cluster: &Postgres, table: &str) -> u64 {
    cluster
        .sql("cifd", &format!("SELECT count(*) FROM {table}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn answers_and_history_are_trimmed_and_a_kept_answer_is_replayed_after_a_restart() {
    let cluster = Postgres::start();
    let url = cluster.new_database("cifd");
    let harness = Harness::start_with(on(&cluster, &url)).await;
    let provider = harness.provider("contoso_chat").await;
    let agent = harness.agent("Ada", &[]).await;
    let mut last = None;
    for n in 0..30 {
        let mut request = session_for(&agent, &format!("call {n}"));
        request.request_id = format!("0199f0c8-51c4-7bb0-9d8e-{n:012}");
        let answer = provider
            .client
            .create_session(request.clone())
            .await
            .unwrap();
        last = Some((request, answer));
    }
    assert!(
        count(&cluster, "cifd_requests") <= 11,
        "answers kept within a tenth over 10: {}",
        count(&cluster, "cifd_requests")
    );
    assert!(
        count(&cluster, "cifd_events") <= 20,
        "events kept: {}",
        count(&cluster, "cifd_events")
    );

    let mut cifd = harness.cifd;
    restart(&mut cifd, Stop::Term, on(&cluster, &url), &harness.admin).await;
    let (request, answer) = last.unwrap();
    let retried = provider.client.create_session(request).await.unwrap();
    assert_eq!(
        retried.session.unwrap().id,
        answer.session.unwrap().id,
        "the retry is answered as before, not applied again"
    );
}
