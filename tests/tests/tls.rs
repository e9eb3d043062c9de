//! cifd over TLS on its one port: clients that trust its CA are served (the Rust SDK, grpcurl),
//! others are refused; a renewed certificate serves new connections while an open stream goes
//! on; with a client CA, only clients with a certificate it signed get in; and serving in
//! clear off loopback needs saying so.

use std::process::Command;
use std::time::Duration;

use cif_e2e::certificates::{Issued, TestCa};
use cif_e2e::{
    Cifd, JsonLines, Options, Postgres, cifd_binary, eventually, grpcurl_binary, provider_spec,
    python, repository, typescript_client,
};
use cif_sdk::{AdminClient, ProviderClient, connect_tls, pb};
use tonic::transport::Channel;

/// A cifd serving `server`'s certificate, and more `arguments`.
fn over_tls(server: &Issued, arguments: &[&str]) -> Cifd {
    let mut options = Options::default()
        .arg("--in-memory")
        .arg("--tls-cert")
        .arg(server.certificate.display().to_string())
        .arg("--tls-key")
        .arg(server.key.display().to_string());
    for argument in arguments {
        options = options.arg(*argument);
    }
    Cifd::start_with(options)
}

/// The server's address by name, so the name is checked against its certificate.
fn https(cifd: &Cifd) -> String {
    format!("https://localhost:{}", cifd.address.port())
}

async fn trusting(cifd: &Cifd, ca: &TestCa) -> Result<Channel, cif_sdk::Error> {
    connect_tls(https(cifd), &ca.certificate_pem(), None).await
}

async fn create_provider(
    channel: Channel,
    token: &str,
    name: &str,
) -> Result<pb::Provider, tonic::Status> {
    let admin = AdminClient::new(channel, token).unwrap();
    let created = admin
        .create_provider(pb::CreateProviderRequest {
            provider: Some(provider_spec(name)),
            ..Default::default()
        })
        .await
        .map_err(|error| tonic::Status::new(error.code(), error.to_string()))?;
    Ok(created.provider.unwrap())
}

/// The operator creates the provider contoso_chat and the agent Ada.
async fn chat_and_ada(admin: &AdminClient) -> (pb::CreateProviderResponse, pb::Agent) {
    let created = admin
        .create_provider(pb::CreateProviderRequest {
            provider: Some(provider_spec("contoso_chat")),
            ..Default::default()
        })
        .await
        .unwrap();
    let agent = admin
        .create_agent(pb::CreateAgentRequest {
            agent: Some(pb::Agent {
                display_name: "Ada".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .agent
        .unwrap();
    (created, agent)
}

#[tokio::test]
async fn clients_that_trust_the_ca_are_served_over_tls_and_others_get_nothing() {
    let ca = TestCa::new("cifd-test-ca");
    let cifd = over_tls(&ca.server("server"), &[]);
    let channel = trusting(&cifd, &ca)
        .await
        .expect("the SDK connects over TLS");
    create_provider(channel, &cifd.operator_token, "contoso_chat")
        .await
        .expect("served over TLS");

    // A client that trusts another CA does not accept the server.
    let stranger = TestCa::new("another-ca");
    let refused = match trusting(&cifd, &stranger).await {
        Err(error) => error.to_string(),
        Ok(channel) => create_provider(channel, &cifd.operator_token, "contoso_other")
            .await
            .expect_err("a server its CA did not sign")
            .to_string(),
    };
    assert!(!refused.is_empty());

    // A client in clear gets no answer from the TLS port.
    let plain = async {
        let channel = cif_sdk::connect(cifd.endpoint()).await?;
        create_provider(channel, &cifd.operator_token, "contoso_plain")
            .await
            .map_err(cif_sdk::Error::from)
    };
    assert!(plain.await.is_err(), "answered in clear");

    // grpcurl with the CA, as the README shows.
    let listed = Command::new(grpcurl_binary())
        .args(["-cacert", &ca.certificate().display().to_string()])
        .arg(format!("localhost:{}", cifd.address.port()))
        .arg("list")
        .output()
        .unwrap();
    let services = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success() && services.contains("cif.v1.ProviderService"),
        "{services}{}",
        String::from_utf8_lossy(&listed.stderr)
    );
}

#[tokio::test]
async fn a_renewed_certificate_serves_new_connections_while_an_open_stream_goes_on() {
    let (first_ca, second_ca) = (TestCa::new("first-ca"), TestCa::new("second-ca"));
    let first = first_ca.server("server");
    let cifd = over_tls(&first, &[]);
    let token = cifd.operator_token.clone();
    let before = trusting(&cifd, &first_ca).await.unwrap();
    let admin = AdminClient::new(before.clone(), &token).unwrap();
    let (created, agent) = chat_and_ada(&admin).await;
    // A raw stream (no resuming): if the server dropped it, it would end.
    let provider = ProviderClient::new(before, &created.credential).unwrap();
    let mut stream = provider
        .generated()
        .subscribe(pb::SubscribeRequest::default())
        .await
        .expect("the stream opens")
        .into_inner();

    // The operator renews the certificate in place: another CA's, to tell them apart.
    let second = second_ca.server("server");
    std::fs::copy(&second.certificate, &first.certificate).unwrap();
    std::fs::copy(&second.key, &first.key).unwrap();
    let after = eventually("new connections get the new certificate", async || {
        trusting(&cifd, &second_ca).await.ok()
    })
    .await;
    assert!(
        trusting(&cifd, &first_ca).await.is_err(),
        "the old certificate is no longer served"
    );

    let renewed = ProviderClient::new(after, &created.credential).unwrap();
    renewed
        .create_session(pb::CreateSessionRequest {
            agent_id: agent.id.clone(),
            title: "after the renewal".into(),
            ..Default::default()
        })
        .await
        .expect("served with the new certificate");
    let event = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let message = stream
                .message()
                .await
                .expect("the stream goes on")
                .expect("the stream is open");
            if let Some(pb::stream_message::Kind::Event(event)) =
                message.message.and_then(|message| message.kind)
            {
                return event;
            }
        }
    })
    .await
    .expect("the event arrives on the stream opened before the renewal");
    assert!(
        format!("{event:?}").contains("after the renewal"),
        "{event:?}"
    );
}

#[tokio::test]
async fn with_a_client_ca_only_clients_with_its_certificate_get_in() {
    let (server_ca, client_ca) = (TestCa::new("server-ca"), TestCa::new("client-ca"));
    let client_ca_file = client_ca.certificate().display().to_string();
    let cifd = over_tls(
        &server_ca.server("server"),
        &["--tls-client-ca", &client_ca_file],
    );
    let token = cifd.operator_token.clone();

    let without = async {
        let channel = trusting(&cifd, &server_ca).await?;
        create_provider(channel, &token, "contoso_anonymous")
            .await
            .map_err(cif_sdk::Error::from)
    };
    assert!(
        without.await.is_err(),
        "served without a client certificate"
    );

    let outsider_ca = TestCa::new("outsider-ca");
    let outsider = outsider_ca.client("outsider", "outsider");
    let (certificate, key) = (outsider.certificate_pem(), outsider.key_pem());
    let unknown = async {
        let channel = connect_tls(
            https(&cifd),
            &server_ca.certificate_pem(),
            Some((&certificate, &key)),
        )
        .await?;
        create_provider(channel, &token, "contoso_outsider")
            .await
            .map_err(cif_sdk::Error::from)
    };
    assert!(
        unknown.await.is_err(),
        "served with a certificate another CA signed"
    );

    let member = client_ca.client("desk", "desk-gateway");
    let (certificate, key) = (member.certificate_pem(), member.key_pem());
    let channel = connect_tls(
        https(&cifd),
        &server_ca.certificate_pem(),
        Some((&certificate, &key)),
    )
    .await
    .expect("connects with a client certificate");
    create_provider(channel, &token, "contoso_chat")
        .await
        .expect("served with a certificate the client CA signed");
}

#[test]
fn serving_in_clear_off_loopback_needs_saying_so() {
    let refused = Command::new(cifd_binary())
        .args(["--in-memory", "--listen", "0.0.0.0:0"])
        .env("CIF_ADMIN_TOKEN", cif_e2e::OPERATOR_TOKEN)
        .env_remove("CIF_ALLOW_PLAINTEXT")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{said}");
    assert!(
        said.contains("--tls-cert") && said.contains("--allow-plaintext"),
        "says what to do: {said}"
    );

    let allowed = Cifd::start_with(Options {
        listen: Some("0.0.0.0:0".parse().unwrap()),
        ..Options::default()
            .arg("--in-memory")
            .arg("--allow-plaintext")
    });
    assert!(allowed.address.ip().is_unspecified(), "{}", allowed.address);
}

/// A client program (`program` for an endpoint) follows a provider's stream from a cifd
/// serving TLS, trusting the test CA through the environment variable `trusts` names.
async fn a_client_program_follows_over_tls(program: impl Fn(&str) -> Command, trusts: &str) {
    let ca = TestCa::new("cifd-test-ca");
    let cifd = over_tls(&ca.server("server"), &[]);
    let admin =
        AdminClient::new(trusting(&cifd, &ca).await.unwrap(), &cifd.operator_token).unwrap();
    let (created, agent) = chat_and_ada(&admin).await;
    let mut program = program(&https(&cifd));
    program
        .env("CIF_CREDENTIAL", &created.credential)
        .env(trusts, ca.certificate());
    let follower = JsonLines::start(program);
    follower.until("catch-up heartbeat", |update| update["kind"] == "heartbeat");
    let provider =
        ProviderClient::new(trusting(&cifd, &ca).await.unwrap(), &created.credential).unwrap();
    provider
        .create_session(pb::CreateSessionRequest {
            agent_id: agent.id,
            title: "over TLS".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // Python names the event's kind session_created, TypeScript sessionCreated.
    follower.until("the session's event, over TLS", |update| {
        update["event"]
            .as_str()
            .is_some_and(|kind| kind.replace('_', "").eq_ignore_ascii_case("sessioncreated"))
    });
}

#[tokio::test]
async fn the_python_client_follows_over_tls() {
    a_client_program_follows_over_tls(
        |endpoint| {
            let mut program = Command::new(python());
            program
                .arg(repository().join("conformance/python/follow.py"))
                .arg(endpoint);
            program
        },
        "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
    )
    .await;
}

#[tokio::test]
async fn the_typescript_client_follows_over_tls() {
    a_client_program_follows_over_tls(
        |endpoint| {
            let mut program = Command::new("node");
            program
                .arg(typescript_client().join("dist/conformance/follow.js"))
                .arg(endpoint);
            program
        },
        "NODE_EXTRA_CA_CERTS",
    )
    .await;
}

/// Replicas over TLS: a follower forwards a change to the writer over TLS, checking the
/// writer's certificate and name against `--tls-peer-ca`, and presenting its own certificate
/// to a writer that wants client certificates.
#[tokio::test]
async fn a_follower_forwards_to_a_writer_that_serves_tls() {
    let cluster = Postgres::start();
    let url = cluster.new_database("cifd");
    let ca = TestCa::new("replicas-ca");
    let ca_file = ca.certificate().display().to_string();
    let replica = |own: &Issued| {
        Cifd::start_with(
            Options::postgres(&cluster, &url)
                .arg("--tls-cert")
                .arg(own.certificate.display().to_string())
                .arg("--tls-key")
                .arg(own.key.display().to_string())
                .arg("--tls-client-ca")
                .arg(ca_file.as_str())
                .arg("--tls-peer-ca")
                .arg(ca_file.as_str()),
        )
    };
    let writer = replica(&ca.server("writer"));
    let follower = replica(&ca.server("follower"));
    assert!(
        follower.log().contains("following it"),
        "{}",
        follower.log()
    );

    let operator = ca.client("operator", "operator");
    let (certificate, key) = (operator.certificate_pem(), operator.key_pem());
    let through_follower = connect_tls(
        https(&follower),
        &ca.certificate_pem(),
        Some((&certificate, &key)),
    )
    .await
    .unwrap();
    let created = create_provider(through_follower, &follower.operator_token, "contoso_chat")
        .await
        .expect("forwarded to the writer over TLS");
    let on_writer = connect_tls(
        https(&writer),
        &ca.certificate_pem(),
        Some((&certificate, &key)),
    )
    .await
    .unwrap();
    let found = AdminClient::new(on_writer, &writer.operator_token)
        .unwrap()
        .get_provider(pb::GetProviderRequest {
            provider_id: created.id.clone(),
        })
        .await
        .expect("the writer holds what the follower forwarded");
    assert_eq!(found.provider.unwrap().unique_name, "contoso_chat");
}

/// A client recognised as a replica by its certificate (`--tls-peer-ca`) is not held to the
/// rate of calls without a credential that holds every other client of its address: the
/// calls a follower forwards all come from its one address.
#[tokio::test]
async fn a_replica_recognised_by_its_certificate_is_not_held_to_an_address_rate() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;

    let (server_ca, replicas_ca) = (TestCa::new("server-ca"), TestCa::new("replicas-ca"));
    let replicas_ca_file = replicas_ca.certificate().display().to_string();
    let cifd = over_tls(
        &server_ca.server("server"),
        &[
            "--tls-peer-ca",
            &replicas_ca_file,
            "--unauthenticated-rate-limit",
            "2",
        ],
    );
    let checks = async |channel: Channel| {
        let mut health = HealthClient::new(channel);
        let mut refused = 0;
        for _ in 0..50 {
            if let Err(status) = health.check(HealthCheckRequest::default()).await {
                assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
                refused += 1;
            }
        }
        refused
    };

    let replica = replicas_ca.client("replica", "replica-2");
    let (certificate, key) = (replica.certificate_pem(), replica.key_pem());
    let as_replica = connect_tls(
        https(&cifd),
        &server_ca.certificate_pem(),
        Some((&certificate, &key)),
    )
    .await
    .expect("a replica's certificate is accepted");
    assert_eq!(checks(as_replica).await, 0, "a replica is not rate limited");

    let anonymous = trusting(&cifd, &server_ca)
        .await
        .expect("without a certificate, as --tls-client-ca is not given");
    assert!(
        checks(anonymous).await > 0,
        "50 checks in a row from one address go over 2 a second"
    );
}

/// A follower's own certificate renewed in place is what it presents to the writer from then
/// on: with a certificate the writer does not accept, its forwarded changes are refused; once
/// renewed with one the writer's client CA signed, they go through, without a restart.
#[tokio::test]
async fn a_follower_presents_its_renewed_certificate_to_the_writer() {
    let cluster = Postgres::start();
    let url = cluster.new_database("cifd");
    let (ca, stranger) = (TestCa::new("replicas-ca"), TestCa::new("stranger-ca"));
    let ca_file = ca.certificate().display().to_string();
    let replica = |own: &Issued, client_ca: Option<&str>| {
        let mut options = Options::postgres(&cluster, &url)
            .arg("--tls-cert")
            .arg(own.certificate.display().to_string())
            .arg("--tls-key")
            .arg(own.key.display().to_string())
            .arg("--tls-peer-ca")
            .arg(ca_file.as_str());
        if let Some(client_ca) = client_ca {
            options = options.arg("--tls-client-ca").arg(client_ca);
        }
        Cifd::start_with(options)
    };
    let writer = replica(&ca.server("writer"), Some(&ca_file));
    let own = stranger.server("follower");
    let follower = replica(&own, None);
    assert!(
        follower.log().contains("following it"),
        "{}",
        follower.log()
    );

    let through_follower = async |trusted: &TestCa| {
        let channel = trusting(&follower, trusted).await.unwrap();
        create_provider(channel, &follower.operator_token, "contoso_chat").await
    };
    let refused = through_follower(&stranger)
        .await
        .expect_err("the writer does not accept the stranger's certificate");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");

    let renewed = ca.server("follower");
    std::fs::copy(&renewed.certificate, &own.certificate).unwrap();
    std::fs::copy(&renewed.key, &own.key).unwrap();
    eventually("the follower serves its renewed certificate", async || {
        follower
            .log()
            .contains("serving the new TLS certificate")
            .then_some(())
    })
    .await;
    through_follower(&ca)
        .await
        .expect("forwarded with the renewed certificate");
    drop(writer);
}
