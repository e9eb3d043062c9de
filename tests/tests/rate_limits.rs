//! Each principal's call rate (a token bucket, checked right after the role): a provider
//! calling too fast is refused with RESOURCE_EXHAUSTED, RATE_LIMITED, when to retry and the
//! quota it went over, while other principals go on unaffected; a provider given its own rate
//! gets it; and the refused one is served again once it waits as told.

use cif_e2e::{Harness, Options, eventually};
use cif_sdk::pb;
use tonic::Code;

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
