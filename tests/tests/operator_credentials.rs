//! Operator credentials without restarts: through AdminService the operator creates named
//! credentials that work like the configured token, lists them (never their secret) and
//! revokes them at once: calls are refused from then on and streams end. They survive a
//! restart; the configured token stays the bootstrap.

use cif_e2e::{DataDir, Harness, Options, Stop, caught_up, ending, expect_refused, restart};
use cif_sdk::{AdminClient, pb};
use tonic::Code;

async fn create(admin: &AdminClient, display_name: &str) -> pb::CreateOperatorCredentialResponse {
    admin
        .create_operator_credential(pb::CreateOperatorCredentialRequest {
            operator_credential: Some(pb::OperatorCredential {
                display_name: display_name.into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("created")
}

async fn listed(admin: &AdminClient) -> Vec<pb::OperatorCredential> {
    admin
        .list_operator_credentials(pb::ListOperatorCredentialsRequest::default())
        .await
        .expect("listed")
        .operator_credentials
}

#[tokio::test]
async fn an_operator_credential_works_until_revoked_and_then_at_once_no_more() {
    let data_dir = DataDir::new();
    let options = || Options {
        data_dir: Some(data_dir.path().to_owned()),
        ..Options::default()
    };
    let harness = Harness::start_with(options()).await;
    let bootstrap = harness.admin.clone();

    let oncall = create(&bootstrap, "ops-oncall").await;
    assert!(
        oncall.credential.starts_with("cifo_"),
        "an operator credential"
    );
    let oncall_record = oncall.operator_credential.clone().unwrap();
    assert_eq!(oncall_record.display_name, "ops-oncall");
    assert!(oncall_record.create_time.is_some());
    let pipeline = create(&bootstrap, "deploy pipeline").await;

    // It calls AdminService as the configured token does, and may create credentials too.
    let as_oncall = AdminClient::new(harness.channel.clone(), &oncall.credential).unwrap();
    as_oncall
        .create_provider(pb::CreateProviderRequest {
            provider: Some(cif_e2e::provider_spec("contoso_chat")),
            ..Default::default()
        })
        .await
        .expect("an operator credential manages providers");
    let listing = listed(&as_oncall).await;
    let names: Vec<&str> = listing.iter().map(|c| c.display_name.as_str()).collect();
    assert_eq!(
        names,
        ["ops-oncall", "deploy pipeline"],
        "in creation order"
    );
    let shown = format!("{listing:?}");
    assert!(
        !shown.contains(&oncall.credential) && !shown.contains(&pipeline.credential),
        "never their secret"
    );

    // A bad request names its field.
    let empty = bootstrap
        .create_operator_credential(pb::CreateOperatorCredentialRequest {
            operator_credential: Some(pb::OperatorCredential::default()),
            ..Default::default()
        })
        .await;
    let refused = expect_refused(empty, Code::InvalidArgument, Some("FIELD_REQUIRED"));
    assert_eq!(
        refused.field_violations()[0].field,
        "operator_credential.display_name"
    );

    // Revoked: its stream ends and its next call is refused, at once.
    let mut watching = caught_up(as_oncall.watch(false)).await;
    bootstrap
        .revoke_operator_credential(pb::RevokeOperatorCredentialRequest {
            operator_credential_id: oncall_record.id.clone(),
            ..Default::default()
        })
        .await
        .expect("revoked");
    let (_, ended) = ending(&mut watching).await;
    assert_eq!(
        (ended.code(), ended.reason()),
        (Code::Unauthenticated, Some("CREDENTIAL_INVALID"))
    );
    expect_refused(
        as_oncall.list_providers(Default::default()).await,
        Code::Unauthenticated,
        Some("CREDENTIAL_INVALID"),
    );
    let again = bootstrap
        .revoke_operator_credential(pb::RevokeOperatorCredentialRequest {
            operator_credential_id: oncall_record.id.clone(),
            ..Default::default()
        })
        .await;
    expect_refused(again, Code::NotFound, Some("OPERATOR_CREDENTIAL_NOT_FOUND"));
    let names: Vec<String> = listed(&bootstrap)
        .await
        .into_iter()
        .map(|c| c.display_name)
        .collect();
    assert_eq!(names, ["deploy pipeline"]);

    // A restart keeps the one that works, and the revoked one stays revoked.
    let mut cifd = harness.cifd;
    restart(&mut cifd, Stop::Term, options(), &bootstrap).await;
    let as_pipeline = AdminClient::new(cifd.channel().await, &pipeline.credential).unwrap();
    as_pipeline
        .list_providers(Default::default())
        .await
        .expect("a created credential survives a restart");
    let as_oncall = AdminClient::new(cifd.channel().await, &oncall.credential).unwrap();
    expect_refused(
        as_oncall.list_providers(Default::default()).await,
        Code::Unauthenticated,
        Some("CREDENTIAL_INVALID"),
    );
}
