//! cifd as a process: flags, the operator token, the config file, startup failures and a
//! clean exit on SIGTERM.

use std::process::Command;
use std::time::Duration;

use cif_e2e::{
    Cifd, Harness, Options, TokenSource, cifd_binary, expect_refused, sdk_example, session_for,
};
use cif_sdk::{AdminClient, pb};
use tonic::Code;

fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("cifd-process-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn help_lists_every_flag_with_its_environment_variable() {
    let output = Command::new(cifd_binary()).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for (flag, variable) in [
        ("--listen", "CIF_LISTEN"),
        ("--data-dir", "CIF_DATA_DIR"),
        ("--in-memory", "CIF_IN_MEMORY"),
        ("--store", "CIF_STORE"),
        ("--admin-token-file", "CIF_ADMIN_TOKEN_FILE"),
        ("--config", "CIF_CONFIG"),
        ("--max-request-bytes", "CIF_MAX_REQUEST_BYTES"),
        (
            "--default-max-open-sessions",
            "CIF_DEFAULT_MAX_OPEN_SESSIONS",
        ),
        (
            "--default-max-tabs-per-session",
            "CIF_DEFAULT_MAX_TABS_PER_SESSION",
        ),
        (
            "--default-max-queued-notifications",
            "CIF_DEFAULT_MAX_QUEUED_NOTIFICATIONS",
        ),
        ("--closed-session-retention", "CIF_CLOSED_SESSION_RETENTION"),
        ("--history-events", "CIF_HISTORY_EVENTS"),
        ("--history-age", "CIF_HISTORY_AGE"),
        ("--request-ids", "CIF_REQUEST_IDS"),
        ("--request-id-age", "CIF_REQUEST_ID_AGE"),
        ("--desk-grace", "CIF_DESK_GRACE"),
        ("--subscriber-queue", "CIF_SUBSCRIBER_QUEUE"),
        (
            "--max-streams-per-principal",
            "CIF_MAX_STREAMS_PER_PRINCIPAL",
        ),
        ("--heartbeat-interval", "CIF_HEARTBEAT_INTERVAL"),
        ("--shutdown-grace", "CIF_SHUTDOWN_GRACE"),
        ("--log", "CIF_LOG"),
        ("--metrics-listen", "CIF_METRICS_LISTEN"),
    ] {
        assert!(
            help.contains(flag) && help.contains(variable),
            "--help lacks {flag} / {variable}"
        );
    }
    assert!(
        help.contains("CIF_ADMIN_TOKEN="),
        "--help explains the operator token"
    );
}

#[tokio::test]
async fn a_generated_operator_token_is_printed_once_and_works() {
    let cifd = Cifd::start_with(Options {
        token: TokenSource::Generated,
        ..Default::default()
    });
    assert!(cifd.operator_token.starts_with("cifo_"));
    let admin = cifd.admin().await;
    admin
        .get_server_info(pb::GetServerInfoRequest {})
        .await
        .unwrap();
    assert!(
        !cifd.log().contains(&cifd.operator_token),
        "the token is never logged"
    );
}

#[tokio::test]
async fn the_operator_token_can_come_from_a_file() {
    let token = "file-token-0123456789-0123456789-abc";
    let path = temp_file("token", &format!("{token}\n"));
    let cifd = Cifd::start_with(
        Options {
            token: TokenSource::Given(token.into()),
            ..Default::default()
        }
        .arg("--admin-token-file")
        .arg(path.to_str().unwrap()),
    );
    std::fs::remove_file(&path).unwrap();
    let admin = AdminClient::new(cifd.channel().await, token).unwrap();
    admin
        .get_server_info(pb::GetServerInfoRequest {})
        .await
        .unwrap();
    let wrong =
        AdminClient::new(cifd.channel().await, "file-token-0123456789-0123456789-xyz").unwrap();
    expect_refused(
        wrong.get_server_info(pb::GetServerInfoRequest {}).await,
        Code::Unauthenticated,
        Some("CREDENTIAL_INVALID"),
    );
}

#[test]
fn a_short_operator_token_stops_startup() {
    let output = Command::new(cifd_binary())
        .args(["--listen", "127.0.0.1:0"])
        .env("CIF_ADMIN_TOKEN", "too-short")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("at least 32"), "{stderr}");
}

/// A PostgreSQL store that cannot be used stops startup with what to do, and never echoes a
/// password: one given in the URL is refused (it would show in process lists), a wrong one
/// is refused by PostgreSQL, a database nobody listens on is named.
#[test]
fn a_postgresql_store_that_cannot_be_used_stops_startup_with_what_to_do() {
    let cluster = cif_e2e::Postgres::start();
    let url = cluster.new_database("cifd");
    let start = |url: &str, password: &str| {
        let output = Command::new(cifd_binary())
            .args(["--listen", "127.0.0.1:0", "--store", url])
            .env("CIF_ADMIN_TOKEN", "o".repeat(40))
            .env("CIF_STORE_PASSWORD", password)
            .env_remove("PGPASSWORD")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{url}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let in_url = url.replacen("cifd@", "cifd:hunter2-in-the-url@", 1);
    let stderr = start(&in_url, cluster.password());
    assert!(stderr.contains("CIF_STORE_PASSWORD"), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "the password is not echoed: {stderr}"
    );

    let stderr = start(&url, "not-the-password");
    assert!(stderr.contains("cannot connect"), "{stderr}");
    assert!(stderr.contains("CIF_STORE_PASSWORD"), "{stderr}");
    assert!(!stderr.contains("not-the-password"), "{stderr}");

    let nobody = format!("postgres://cifd@127.0.0.1:{}/cifd", cluster.port());
    drop(cluster);
    let stderr = start(&nobody, "whatever");
    assert!(
        stderr.contains("cannot connect") && stderr.contains("127.0.0.1"),
        "{stderr}"
    );
}

#[test]
fn a_bad_config_file_stops_startup_naming_the_setting() {
    let path = temp_file("bad.toml", "listen = \"127.0.0.1:0\"\nmax_sessions = 3\n");
    let output = Command::new(cifd_binary())
        .args(["--config", path.to_str().unwrap()])
        .env("CIF_ADMIN_TOKEN", cif_e2e::OPERATOR_TOKEN)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown setting `max_sessions`"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_config_file_sets_defaults_that_flags_override() {
    let path = temp_file(
        "limits.toml",
        "default_max_open_sessions = 1\nlog = \"debug\"\n",
    );
    let config = path.to_str().unwrap().to_owned();
    let harness = Harness::start_with(Options::default().arg("--config").arg(&config)).await;
    let phone = harness.provider("contoso_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    phone
        .client
        .create_session(session_for(&ada, "one"))
        .await
        .unwrap();
    expect_refused(
        phone.client.create_session(session_for(&ada, "two")).await,
        Code::ResourceExhausted,
        Some("SESSION_LIMIT_REACHED"),
    );

    // The environment beats the file.
    let harness = Harness::start_with(
        Options::default()
            .arg("--config")
            .arg(&config)
            .env("CIF_DEFAULT_MAX_OPEN_SESSIONS", "2"),
    )
    .await;
    let phone = harness.provider("contoso_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    phone
        .client
        .create_session(session_for(&ada, "one"))
        .await
        .unwrap();
    phone
        .client
        .create_session(session_for(&ada, "two"))
        .await
        .unwrap();
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_taken_port_stops_startup_with_a_message() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = holder.local_addr().unwrap().to_string();
    let output = Command::new(cifd_binary())
        .args(["--listen", &address, "--in-memory"])
        .env("CIF_ADMIN_TOKEN", cif_e2e::OPERATOR_TOKEN)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(&format!("cannot listen on {address}"))
    );
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let mut cifd = Cifd::start();
    let admin = cifd.admin().await;
    admin
        .get_server_info(pb::GetServerInfoRequest {})
        .await
        .unwrap();
    // The client's connection stays open: the server asks it to go away and it does.
    let status = cifd.terminate(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status}");
    assert!(cifd.log().contains("SIGTERM"));
    drop(admin);
}

#[tokio::test]
async fn a_client_that_never_answers_cannot_hold_shutdown_past_the_grace_period() {
    let mut cifd = Cifd::start_with(Options::default().arg("--shutdown-grace").arg("1s"));
    // A connection that opens HTTP/2 with its preface and then falls silent, so it never
    // acknowledges the GOAWAY.
    let mut silent = std::net::TcpStream::connect(cifd.address).unwrap();
    std::io::Write::write_all(&mut silent, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
    // The server has taken it once it answers: its HTTP/2 SETTINGS frame.
    silent.set_read_timeout(Some(cif_e2e::PATIENCE)).unwrap();
    let mut settings = [0u8; 9];
    std::io::Read::read_exact(&mut silent, &mut settings).expect("the server's first frame");
    assert_eq!(settings[3], 0x4, "a SETTINGS frame");
    let status = cifd.terminate(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status}");
    drop(silent);
}

#[tokio::test]
async fn an_http1_client_dripping_its_headers_cannot_hold_shutdown_past_the_grace_period() {
    let mut cifd = Cifd::start_with(Options::default().arg("--shutdown-grace").arg("1s"));
    // A browser-like HTTP/1.1 request whose headers never end.
    let mut dripping = std::net::TcpStream::connect(cifd.address).unwrap();
    std::io::Write::write_all(
        &mut dripping,
        b"POST /cif.v1.AgentService/Subscribe HTTP/1.1\r\nHost: cifd\r\nX-Grpc-Web: 1\r\n",
    )
    .unwrap();
    let status = cifd.terminate(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status}");
    drop(dripping);
}

#[tokio::test]
async fn refused_calls_are_logged_with_principal_and_reason_but_never_the_credential() {
    let harness = Harness::start().await;
    let phone = harness.provider("contoso_phone").await;
    let _ = phone
        .client
        .get_session(pb::GetSessionRequest {
            session_id: "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11".into(),
        })
        .await;
    let log = harness.cifd.log();
    let line = log
        .lines()
        .find(|line| line.contains("SESSION_NOT_FOUND"))
        .unwrap_or_else(|| panic!("no refusal logged:\n{log}"));
    assert!(line.contains(&format!("provider {}", phone.id())), "{line}");
    assert!(
        line.contains("/cif.v1.ProviderService/GetSession"),
        "{line}"
    );
    assert!(
        !log.contains(&phone.credential),
        "a credential reached the log"
    );
}

#[tokio::test]
async fn the_readme_sdk_walkthrough_runs_against_a_live_server() {
    let cifd = Cifd::start();
    let output = Command::new(sdk_example("quickstart"))
        .arg(cifd.endpoint())
        .env("CIF_ADMIN_TOKEN", &cifd.operator_token)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("room for 10 more sessions"), "{stdout}");
    assert!(
        stdout.contains("unknown session: NotFound SESSION_NOT_FOUND"),
        "{stdout}"
    );
    assert!(
        stdout.contains("desk: 1 open session(s), focused the new session"),
        "{stdout}"
    );
    assert!(
        stdout.contains("closed"),
        "the provider heard the close: {stdout}"
    );
}
