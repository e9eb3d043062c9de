//! Each principal's call rate (a token bucket, checked right after the role): a provider
//! calling too fast is refused with RESOURCE_EXHAUSTED, RATE_LIMITED, when to retry and the
//! quota it went over, while other principals go on unaffected; a provider given its own rate
//! gets it; and the refused one is served again once it waits as told. Each address's calls
//! without a valid credential have a rate of their own, which callers that present one from
//! the same address never meet.

use cif_e2e::{Harness, Options, eventually};
use cif_sdk::{ProviderClient, pb};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

#[tokio::test]
async fn a_provider_over_its_rate_is_told_when_to_retry_and_nobody_else_is_slowed() {
    let harness = Harness::start_with(
        Options::default()
            .arg("--rate-limit")
            .arg("5")
            .arg("--rate-burst")
            .arg("5")
            .arg("--provider-rate-limits")
            .arg("contoso_bulk=1000"),
    )
    .await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("contoso_phone").await;
    let bulk = harness.provider("contoso_bulk").await;
    let list = || pb::ListSessionsRequest::default();

    // However slow this machine, 200 calls in a row go over 5 calls a second.
    let mut refused = None;
    for _ in 0..200 {
        if let Err(error) = chat.client.list_sessions(list()).await {
            refused = Some(error);
            break;
        }
    }
    let refused = refused.expect("refused within 200 calls at 5 calls a second");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(refused.reason(), Some("RATE_LIMITED"));
    let retry_after = refused.retry_after().expect("RetryInfo says when to retry");
    assert!(
        retry_after > std::time::Duration::ZERO
            && retry_after <= std::time::Duration::from_millis(200),
        "one call's token at 5 calls a second: {retry_after:?}"
    );
    let quota = refused.quota_violations();
    assert_eq!(quota.len(), 1, "{quota:?}");
    assert!(quota[0].0.contains(chat.id()), "whose quota: {quota:?}");

    phone
        .client
        .list_sessions(list())
        .await
        .expect("another provider is not slowed by chat's calls");
    for _ in 0..200 {
        bulk.client
            .list_sessions(list())
            .await
            .expect("its own rate: 1,000 calls a second, 2,000 at once");
    }

    tokio::time::sleep(retry_after).await;
    eventually("chat is served again after waiting as told", async || {
        chat.client.list_sessions(list()).await.ok()
    })
    .await;
}

#[tokio::test]
async fn an_address_flooding_calls_without_a_credential_is_refused_and_callers_with_one_are_not() {
    let harness = Harness::start_with(
        Options::default()
            .arg("--unauthenticated-rate-limit")
            .arg("5"),
    )
    .await;
    let chat = harness.provider("contoso_chat").await;
    let flooding = harness.cifd.channel_from("127.0.0.2").await.unwrap();
    let mut health = HealthClient::new(flooding.clone());

    // However slow this machine, 200 health checks in a row go over 5 a second.
    let mut refused = None;
    for _ in 0..200 {
        if let Err(status) = health.check(HealthCheckRequest::default()).await {
            refused = Some(status);
            break;
        }
    }
    let refused = refused.expect("refused within 200 calls at 5 a second");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(
        refused.get_details_error_info().unwrap().reason,
        "RATE_LIMITED"
    );
    let retry = refused.get_details_retry_info().expect("RetryInfo");
    assert!(retry.retry_delay.is_some_and(|delay| !delay.is_zero()));
    let quota = refused.get_details_quota_failure().expect("QuotaFailure");
    assert_eq!(quota.violations[0].subject, "address:127.0.0.2");

    // A caller with a credential, from the same address and connection, is served.
    let same_address = ProviderClient::new(flooding.clone(), &chat.credential).unwrap();
    same_address
        .list_sessions(pb::ListSessionsRequest::default())
        .await
        .expect("a credential's calls do not count as the address's");
    // Another address is not slowed.
    HealthClient::new(harness.cifd.channel_from("127.0.0.3").await.unwrap())
        .check(HealthCheckRequest::default())
        .await
        .expect("another address has its own rate");

    // A flood of unknown credentials from one address does not become a log line each.
    let guessing = harness.cifd.channel_from("127.0.0.4").await.unwrap();
    let guesser = ProviderClient::new(guessing, "cifp_guessed-0123456789abcdef").unwrap();
    let mut rate_limited = 0;
    for _ in 0..100 {
        let error = guesser
            .list_sessions(pb::ListSessionsRequest::default())
            .await
            .expect_err("an unknown credential");
        match error.code() {
            Code::Unauthenticated => {}
            Code::ResourceExhausted => rate_limited += 1,
            other => panic!("unexpected {other:?}: {error:?}"),
        }
    }
    assert!(rate_limited > 0, "100 guesses in a row go over 5 a second");
    let logged = harness.cifd.log().matches("CREDENTIAL_INVALID").count();

    // Every refusal is counted, by address, method and reason, and the operator reads them.
    let counts = harness
        .admin
        .list_refusal_counts(pb::ListRefusalCountsRequest {
            principal: "address:127.0.0.4".into(),
            ..Default::default()
        })
        .await
        .expect("listed")
        .refusal_counts;
    // Paged one by one, the same counts.
    let mut paged = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = harness
            .admin
            .list_refusal_counts(pb::ListRefusalCountsRequest {
                principal: "address:127.0.0.4".into(),
                page_size: 1,
                page_token,
                ..Default::default()
            })
            .await
            .expect("a page");
        paged.extend(page.refusal_counts);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(paged, counts);
    let mut by_reason = std::collections::BTreeMap::<String, i64>::new();
    for count in counts {
        assert_eq!(count.method, "/cif.v1.ProviderService/ListSessions");
        *by_reason.entry(count.reason).or_default() += count.count;
    }
    let answered_unauthenticated = (100 - rate_limited) as i64;
    assert_eq!(
        by_reason,
        [
            ("CREDENTIAL_INVALID".to_owned(), answered_unauthenticated),
            ("RATE_LIMITED".to_owned(), rate_limited as i64),
        ]
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .collect()
    );
    assert_eq!(
        logged,
        100 - rate_limited,
        "each refusal past the rate is not logged"
    );
}
