//! Rule 12 through a real cifd and the SDK: every way a toast ends, the queue, the desk being
//! offline or reconnecting, and waiting again after a deadline.

use std::time::Duration;

use cif_e2e::{
    AgentHandle, Cifd, Harness, Options, PATIENCE, ProviderHandle, ToastCall, caught_up, describe,
    events_until, eventually, expect_refused, next_update, raise, session_for, shown,
};
use cif_sdk::{Update, pb};
use tonic::Code;

/// How long a desk stays online after its last stream ended.
const DESK_GRACE: Duration = Duration::from_secs(2);

async fn harness() -> Harness {
    Harness::start_with(
        Options::default()
            .arg("--heartbeat-interval")
            .arg("100ms")
            .arg("--desk-grace")
            .arg(format!("{}s", DESK_GRACE.as_secs()))
            // Its metrics tell when it has seen a stream end.
            .arg("--metrics-listen")
            .arg("127.0.0.1:0"),
    )
    .await
}

/// Waits until the server has no stream open (it has seen the last one end), and returns when
/// it saw that at the latest.
async fn until_no_stream_is_open(cifd: &Cifd) -> tokio::time::Instant {
    eventually("the server sees the desk's stream end", async || {
        let open = cifd
            .scrape()
            .lines()
            .find_map(|line| {
                line.strip_prefix("cif_open_streams ")?
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .expect("cif_open_streams");
        (open == 0).then(tokio::time::Instant::now)
    })
    .await
}

/// The toasts pending on a desk, on screen or queued.
async fn pending(agent: &AgentHandle) -> Vec<pb::Notification> {
    agent
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .desk
        .unwrap()
        .notifications
}

fn toast(agent: &AgentHandle, id: &str, countdown: Option<u32>) -> pb::NotifyEventRequest {
    pb::NotifyEventRequest {
        agent_id: agent.id().into(),
        notification_id: id.into(),
        title: "Incoming call".into(),
        fields: vec![pb::NotificationField {
            label: "Caller".into(),
            value: "+1 555 0100".into(),
        }],
        countdown_seconds: countdown,
        ..Default::default()
    }
}

fn uuid(n: u32) -> String {
    format!("0199f0c8-51c4-7bb0-9d8e-{n:012}")
}

async fn outcome(call: ToastCall) -> pb::NotificationResult {
    tokio::time::timeout(PATIENCE, call)
        .await
        .expect("the toast ends in time")
        .unwrap()
        .expect("NotifyEvent answers with an outcome")
        .result
        .unwrap()
}

async fn respond(
    agent: &AgentHandle,
    shown: &pb::Notification,
    accept: bool,
) -> pb::NotificationResult {
    agent
        .client
        .respond_to_notification(pb::RespondToNotificationRequest {
            provider_id: shown.provider_id.clone(),
            notification_id: shown.notification_id.clone(),
            accept,
            ..Default::default()
        })
        .await
        .unwrap()
        .result
        .unwrap()
}

struct Setup {
    harness: Harness,
    phone: ProviderHandle,
    ada: AgentHandle,
    desk: cif_sdk::Subscription,
}

async fn setup() -> Setup {
    let harness = harness().await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    let desk = caught_up(ada.client.subscribe(false)).await;
    Setup {
        harness,
        phone,
        ada,
        desk,
    }
}

#[tokio::test]
async fn rule_12_accepted_declined_and_the_outcome_on_the_providers_stream() {
    let Setup {
        harness,
        phone,
        ada,
        mut desk,
    } = setup().await;
    let mut phone_events = caught_up(phone.client.subscribe(vec![], false)).await;
    let accepted = raise(&phone, toast(&ada, &uuid(1), None));
    let on_screen = shown(&mut desk).await;
    assert_eq!(on_screen.title, "Incoming call");
    assert_eq!(
        (
            on_screen.accept_text.as_str(),
            on_screen.show_reject,
            on_screen.reject_text.as_str()
        ),
        ("Accept", true, "Reject")
    );
    assert_eq!(on_screen.state(), pb::NotificationState::Shown);
    assert!(on_screen.expire_time.is_some(), "120 s by default");
    respond(&ada, &on_screen, true).await;
    let result = outcome(accepted).await;
    assert_eq!(result.outcome(), pb::NotificationOutcome::Accepted);
    assert_eq!(
        (
            result.cif_action_name.as_str(),
            result.cif_response_reason.as_str()
        ),
        ("Accept", "Accept")
    );

    let declined = raise(&phone, toast(&ada, &uuid(2), None));
    let on_screen = shown(&mut desk).await;
    respond(&ada, &on_screen, false).await;
    let result = outcome(declined).await;
    assert_eq!(result.outcome(), pb::NotificationOutcome::Declined);
    assert_eq!(result.cif_response_reason, "DeclinedByAgent");

    let last = harness
        .admin
        .get_server_info(pb::GetServerInfoRequest {})
        .await
        .unwrap()
        .sequence;
    let heard: Vec<_> = events_until(&mut phone_events, last)
        .await
        .iter()
        .map(|(_, e)| describe(e))
        .collect();
    assert_eq!(
        heard,
        [
            ("toast resolved", uuid(1), false),
            ("toast resolved", uuid(2), false)
        ],
        "the provider hears outcomes, not the desk's display"
    );
}

#[tokio::test]
async fn rule_12_display_timeout_and_auto_accept_count_from_display() {
    let Setup {
        phone,
        ada,
        mut desk,
        harness: _server,
    } = setup().await;
    let times_out = raise(&phone, toast(&ada, &uuid(1), Some(1)));
    shown(&mut desk).await;
    let result = outcome(times_out).await;
    assert_eq!(result.outcome(), pb::NotificationOutcome::DisplayTimeout);
    assert_eq!(
        (
            result.cif_action_name.as_str(),
            result.cif_response_reason.as_str()
        ),
        ("Timeout", "DisplayTimeout")
    );

    let mut request = toast(&ada, &uuid(2), Some(1));
    request.auto_accept = true;
    let auto = raise(&phone, request);
    let on_screen = shown(&mut desk).await;
    assert!(on_screen.auto_accept);
    let result = outcome(auto).await;
    assert_eq!(result.outcome(), pb::NotificationOutcome::AutoAccepted);
    assert_eq!(result.cif_response_reason, "AutoAccept");
}

#[tokio::test]
async fn rule_12_the_queue_is_full_at_ten_with_the_one_on_screen() {
    let Setup {
        phone,
        ada,
        mut desk,
        harness: _server,
    } = setup().await;
    let mut waiting = Vec::new();
    for n in 1..=10 {
        waiting.push(raise(&phone, toast(&ada, &uuid(n), None)));
    }
    // All ten are pending once the desk lists them.
    let listed = eventually("ten toasts pending", async || {
        Some(pending(&ada).await).filter(|listed| listed.len() == 10)
    })
    .await;
    assert_eq!(listed[0].state(), pb::NotificationState::Shown);
    assert!(
        listed[1..]
            .iter()
            .all(|n| n.state() == pb::NotificationState::Queued)
    );
    let eleventh = phone
        .client
        .notify_event(toast(&ada, &uuid(11), None))
        .await
        .unwrap()
        .result
        .unwrap();
    assert_eq!(eleventh.outcome(), pb::NotificationOutcome::QueueFull);
    assert_eq!(
        eleventh.cif_response_reason,
        "NotificationQueueLimitExceeded"
    );
    // Answering the one on screen makes room.
    let first = shown(&mut desk).await;
    respond(&ada, &first, true).await;
    // Whichever call reached the server first is the one on screen.
    let index = (1..=10)
        .position(|n| uuid(n) == first.notification_id)
        .unwrap();
    assert_eq!(
        outcome(waiting.remove(index)).await.outcome(),
        pb::NotificationOutcome::Accepted
    );
    for call in &waiting {
        assert!(!call.is_finished());
    }
}

#[tokio::test]
async fn rule_12_a_toast_that_waits_longer_than_its_countdown_is_never_shown() {
    let Setup {
        phone,
        ada,
        mut desk,
        harness: _server,
    } = setup().await;
    let on_screen = raise(&phone, toast(&ada, &uuid(1), None));
    let first = shown(&mut desk).await;
    let waits = raise(&phone, toast(&ada, &uuid(2), Some(1)));
    let result = outcome(waits).await;
    assert_eq!(
        result.outcome(),
        pb::NotificationOutcome::QueueTimeLimitExceeded
    );
    assert_eq!(
        result.cif_response_reason,
        "NotificationQueueTimeLimitExceeded"
    );
    respond(&ada, &first, true).await;
    outcome(on_screen).await;
}

#[tokio::test]
async fn rule_12_cancelled_by_the_provider_the_sessions_close_and_deactivation() {
    let Setup {
        harness,
        phone,
        ada,
        mut desk,
    } = setup().await;
    let by_provider = raise(&phone, toast(&ada, &uuid(1), None));
    shown(&mut desk).await;
    let cancelled = phone
        .client
        .cancel_event(pb::CancelEventRequest {
            notification_id: uuid(1),
            ..Default::default()
        })
        .await
        .unwrap()
        .result
        .unwrap();
    assert_eq!(
        cancelled.cancelled_by(),
        pb::NotificationCanceller::Provider
    );
    let result = outcome(by_provider).await;
    assert_eq!(
        (result.outcome(), result.cancelled_by()),
        (
            pb::NotificationOutcome::Cancelled,
            pb::NotificationCanceller::Provider
        )
    );

    let session = phone
        .client
        .create_session(session_for(&ada, "Call"))
        .await
        .unwrap()
        .session
        .unwrap();
    let mut request = toast(&ada, &uuid(2), None);
    request.session_id = session.id.clone();
    let about_session = raise(&phone, request);
    shown(&mut desk).await;
    ada.client
        .close_session(pb::CloseSessionRequest {
            session_id: session.id,
            ..Default::default()
        })
        .await
        .unwrap();
    let result = outcome(about_session).await;
    assert_eq!(
        result.cancelled_by(),
        pb::NotificationCanceller::SessionClosed
    );

    let by_deactivation = raise(&phone, toast(&ada, &uuid(3), None));
    shown(&mut desk).await;
    harness
        .admin
        .deactivate_provider(pb::DeactivateProviderRequest {
            provider_id: phone.id().into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let result = outcome(by_deactivation).await;
    assert_eq!(
        result.cancelled_by(),
        pb::NotificationCanceller::ProviderDeactivated
    );
    assert!(
        ada.client
            .get_desk(pb::GetDeskRequest {})
            .await
            .unwrap()
            .desk
            .unwrap()
            .notifications
            .is_empty()
    );
}

#[tokio::test]
async fn rule_12_desk_offline_and_a_desk_back_within_the_grace_period() {
    let harness = harness().await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    // Never connected: nobody would see it.
    let refused = expect_refused(
        phone.client.notify_event(toast(&ada, &uuid(1), None)).await,
        Code::FailedPrecondition,
        Some("DESK_OFFLINE"),
    );
    assert!(refused.message().contains("offline"), "{refused}");

    // Connected, then gone: within the grace period the toast waits, and is shown (and can be
    // answered) when the desk is back.
    let desk = caught_up(ada.client.subscribe(false)).await;
    drop(desk);
    until_no_stream_is_open(&harness.cifd).await;
    let waiting = raise(&phone, toast(&ada, &uuid(2), None));
    eventually("the toast waits on the desk", async || {
        (!pending(&ada).await.is_empty()).then_some(())
    })
    .await;
    let mut back = ada.client.subscribe(true);
    let Update::Snapshot { items, .. } = next_update(&mut back).await else {
        panic!("a snapshot")
    };
    let Some(pb::snapshot_item::Item::Desk(snapshot)) = items[0].item.clone() else {
        panic!("a desk")
    };
    assert_eq!(
        snapshot.notifications.len(),
        1,
        "the reconnected desk finds the toast waiting"
    );
    let on_screen = shown(&mut back).await;
    assert_eq!(on_screen.notification_id, uuid(2));
    respond(&ada, &on_screen, true).await;
    assert_eq!(
        outcome(waiting).await.outcome(),
        pb::NotificationOutcome::Accepted
    );

    // Gone for longer than the grace period: refused again. The grace period started when the
    // server saw the stream end, which it had by `gone`; the test waits for the period itself.
    drop(back);
    let gone = until_no_stream_is_open(&harness.cifd).await;
    tokio::time::sleep_until(gone + DESK_GRACE + Duration::from_millis(100)).await;
    expect_refused(
        phone.client.notify_event(toast(&ada, &uuid(3), None)).await,
        Code::FailedPrecondition,
        Some("DESK_OFFLINE"),
    );
}

#[tokio::test]
async fn rule_12_after_deadline_exceeded_a_call_with_the_same_id_waits_for_the_same_toast() {
    let Setup {
        phone,
        ada,
        mut desk,
        harness: _server,
    } = setup().await;
    // The server answers shortly before the deadline (50 ms at most); a second gives the call
    // time to reach it first on a loaded machine.
    let mut impatient = tonic::Request::new(toast(&ada, &uuid(1), None));
    impatient.set_timeout(Duration::from_secs(1));
    let error = cif_sdk::Error::from(
        phone
            .client
            .generated()
            .notify_event(impatient)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (error.code(), error.reason()),
        (Code::DeadlineExceeded, Some("NOTIFICATION_STILL_PENDING"))
    );
    assert!(error.message().contains("same notification_id"), "{error}");
    let on_screen = shown(&mut desk).await;
    assert_eq!(on_screen.notification_id, uuid(1), "the toast stayed");

    let again = raise(&phone, toast(&ada, &uuid(1), None));
    // A window for a wrong early answer to show up; a slow machine cannot fail a right server
    // here (the call is answered the same whether it arrives before the response or after).
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!again.is_finished(), "it waits for the same toast");
    respond(&ada, &on_screen, true).await;
    assert_eq!(
        outcome(again).await.outcome(),
        pb::NotificationOutcome::Accepted
    );
    // Later calls with the id learn the outcome at once; another toast under it is refused.
    let late = phone
        .client
        .notify_event(toast(&ada, &uuid(1), None))
        .await
        .unwrap();
    assert_eq!(
        late.result.unwrap().outcome(),
        pb::NotificationOutcome::Accepted
    );
    let mut other = toast(&ada, &uuid(1), None);
    other.title = "Another call".into();
    expect_refused(
        phone.client.notify_event(other).await,
        Code::AlreadyExists,
        Some("NOTIFICATION_ID_REUSED"),
    );
}

#[tokio::test]
async fn rule_12_only_the_toast_on_screen_can_be_answered() {
    let Setup {
        phone,
        ada,
        mut desk,
        harness: _server,
    } = setup().await;
    let mut no_reject = toast(&ada, &uuid(1), None);
    no_reject.show_reject = Some(false);
    let first = raise(&phone, no_reject);
    let on_screen = shown(&mut desk).await;
    let second = raise(&phone, toast(&ada, &uuid(2), None));
    eventually("the second toast queued", async || {
        (pending(&ada).await.len() == 2).then_some(())
    })
    .await;
    let queued = pb::Notification {
        notification_id: uuid(2),
        provider_id: phone.id().into(),
        ..Default::default()
    };
    expect_refused(
        ada.client
            .respond_to_notification(pb::RespondToNotificationRequest {
                provider_id: queued.provider_id.clone(),
                notification_id: queued.notification_id.clone(),
                accept: true,
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        Some("NOTIFICATION_NOT_SHOWN"),
    );
    expect_refused(
        ada.client
            .respond_to_notification(pb::RespondToNotificationRequest {
                provider_id: on_screen.provider_id.clone(),
                notification_id: on_screen.notification_id.clone(),
                accept: false,
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        Some("REJECT_NOT_OFFERED"),
    );
    respond(&ada, &on_screen, true).await;
    outcome(first).await;
    let next = shown(&mut desk).await;
    respond(&ada, &next, true).await;
    outcome(second).await;
    expect_refused(
        ada.client
            .respond_to_notification(pb::RespondToNotificationRequest {
                provider_id: next.provider_id.clone(),
                notification_id: next.notification_id.clone(),
                accept: true,
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("NOTIFICATION_NOT_FOUND"),
    );
}

#[tokio::test]
async fn rule_12_answer_when_queued_returns_at_once_and_the_outcome_comes_as_an_event() {
    let Setup {
        harness: _running,
        phone,
        ada,
        mut desk,
    } = setup().await;
    let mut phone_events = caught_up(phone.client.subscribe(vec![], false)).await;
    let queued = phone
        .client
        .notify_event(pb::NotifyEventRequest {
            answer_when_queued: true,
            ..toast(&ada, &uuid(21), None)
        })
        .await
        .expect("accepted for display")
        .result
        .unwrap();
    assert_eq!(queued.notification_id, uuid(21));
    assert_eq!(
        queued.outcome(),
        pb::NotificationOutcome::Unspecified,
        "still pending"
    );

    // The agent accepts: the provider hears the outcome on its stream.
    let on_screen = shown(&mut desk).await;
    respond(&ada, &on_screen, true).await;
    let resolved =
        cif_e2e::update_where(
            &mut phone_events,
            "the toast's outcome",
            |update| match update {
                Update::Event { event, .. } => match event.kind {
                    Some(pb::event::Kind::NotificationResolved(resolved)) => Some(resolved),
                    _ => None,
                },
                _ => None,
            },
        )
        .await;
    let result = resolved.result.expect("the outcome");
    assert_eq!(result.notification_id, uuid(21));
    assert_eq!(result.outcome(), pb::NotificationOutcome::Accepted);

    // Asked again once it ended, it answers with the outcome at once.
    let again = phone
        .client
        .notify_event(pb::NotifyEventRequest {
            answer_when_queued: true,
            ..toast(&ada, &uuid(21), None)
        })
        .await
        .unwrap()
        .result
        .unwrap();
    assert_eq!(again.outcome(), pb::NotificationOutcome::Accepted);
}
