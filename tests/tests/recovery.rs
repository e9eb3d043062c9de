//! Retries, versions and the data directory's life: request ids (AIP-155) before and after a
//! restart, expected_version, backup and restore, unusable data files, the operator token
//! kept per data directory, and how long closed sessions stay readable.

use std::process::{Command, Stdio};
use std::time::Duration;

use cif_e2e::{
    Cifd, DataDir, Harness, OPERATOR_TOKEN, Options, PATIENCE, Stop, TokenSource, caught_up,
    cifd_binary, expect_refused, restart, session_for, skip_heartbeats,
};
use cif_sdk::{AdminClient, Update, pb};
use tonic::Code;

const REQUEST: &str = "6f1c2f4e-8a55-4d9e-9d3b-2b7c1c0e9a01";
const OTHER_REQUEST: &str = "6f1c2f4e-8a55-4d9e-9d3b-2b7c1c0e9a02";

fn on(data_dir: &DataDir) -> Options {
    Options {
        data_dir: Some(data_dir.path().to_owned()),
        ..Default::default()
    }
}

async fn sessions(admin: &AdminClient) -> Vec<pb::Session> {
    admin
        .list_sessions(pb::AdminServiceListSessionsRequest {
            show_closed: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .sessions
}

#[tokio::test]
async fn a_retry_with_the_same_request_id_gets_the_first_answer_also_after_a_crash() {
    let data_dir = DataDir::new();
    let harness = Harness::start_with(on(&data_dir)).await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;
    let mut request = session_for(&ada, "Chat");
    request.request_id = REQUEST.into();

    let first = chat.client.create_session(request.clone()).await.unwrap();
    let retry = chat.client.create_session(request.clone()).await.unwrap();
    assert_eq!(retry, first, "the first answer, sequence included");
    assert_eq!(sessions(&harness.admin).await.len(), 1, "applied once");

    // The same id from another caller is another request.
    let phone = harness.provider("fabrikam_phone").await;
    let theirs = phone.client.create_session(request.clone()).await.unwrap();
    assert_ne!(
        theirs.session.unwrap().id,
        first.session.clone().unwrap().id
    );

    // The same id with a different request: refused, nothing applied.
    let mut different = request.clone();
    different.title = "Another chat".into();
    let refused = expect_refused(
        chat.client.create_session(different.clone()).await,
        Code::FailedPrecondition,
        Some("REQUEST_ID_REUSED"),
    );
    assert!(refused.message().contains("new request_id"), "{refused}");
    let malformed = pb::CreateSessionRequest {
        request_id: "retry-1".into(),
        ..request.clone()
    };
    let refused = expect_refused(
        chat.client.create_session(malformed).await,
        Code::InvalidArgument,
        Some("FIELD_MALFORMED"),
    );
    assert_eq!(refused.field_violations()[0].field, "request_id");

    // A closed session: the retry of the close answers as the first time did.
    let session_id = first.session.clone().unwrap().id;
    let close = pb::CloseSessionRequest {
        session_id: session_id.clone(),
        request_id: OTHER_REQUEST.into(),
        ..Default::default()
    };
    let closed = ada.client.close_session(close.clone()).await.unwrap();
    assert_eq!(
        ada.client.close_session(close.clone()).await.unwrap(),
        closed
    );
    let create_bob = pb::CreateAgentRequest {
        agent: Some(pb::Agent {
            display_name: "Bob".into(),
            ..Default::default()
        }),
        request_id: REQUEST.into(),
    };
    let created = harness
        .admin
        .create_agent(create_bob.clone())
        .await
        .unwrap();
    assert!(!created.credential.is_empty());

    let mut cifd = harness.cifd;
    restart(&mut cifd, Stop::Kill, on(&data_dir), &harness.admin).await;
    assert_eq!(
        chat.client.create_session(request).await.unwrap(),
        first,
        "remembered across the crash"
    );
    assert_eq!(ada.client.close_session(close).await.unwrap(), closed);
    expect_refused(
        chat.client.create_session(different).await,
        Code::FailedPrecondition,
        Some("REQUEST_ID_REUSED"),
    );
    assert_eq!(
        sessions(&harness.admin).await.len(),
        2,
        "still applied once"
    );
    // A credential is never stored: the retry after a restart has the agent without it.
    let again = harness.admin.create_agent(create_bob).await.unwrap();
    assert_eq!(again.agent, created.agent);
    assert_eq!(again.credential, "", "rotate to get a new one");
}

#[tokio::test]
async fn answers_beyond_the_kept_number_are_forgotten_oldest_first() {
    let harness = Harness::start_with(Options::default().arg("--request-ids").arg("2")).await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;
    let request = |n: u32| pb::CreateSessionRequest {
        request_id: format!("6f1c2f4e-8a55-4d9e-9d3b-{n:012}"),
        ..session_for(&ada, &format!("Chat {n}"))
    };
    let mut first = Vec::new();
    for n in 1..=3 {
        first.push(chat.client.create_session(request(n)).await.unwrap());
    }
    // The newest two are remembered; the oldest is applied again as a new call.
    assert_eq!(
        chat.client.create_session(request(3)).await.unwrap(),
        first[2]
    );
    assert_eq!(
        chat.client.create_session(request(2)).await.unwrap(),
        first[1]
    );
    let again = chat.client.create_session(request(1)).await.unwrap();
    assert_ne!(
        again.session.unwrap().id,
        first[0].session.clone().unwrap().id
    );
    assert_eq!(sessions(&harness.admin).await.len(), 4);
}

#[tokio::test]
async fn a_stale_expected_version_is_aborted_and_changes_nothing() {
    let data_dir = DataDir::new();
    let harness = Harness::start_with(on(&data_dir)).await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;
    let session = chat
        .client
        .create_session(session_for(&ada, "Chat"))
        .await
        .unwrap()
        .session
        .unwrap();
    let retitle = |title: &str, expected_version: Option<u64>| pb::SetSessionTitleRequest {
        session_id: session.id.clone(),
        title: title.into(),
        expected_version,
        ..Default::default()
    };
    let renamed = chat
        .client
        .set_session_title(retitle("Chat with Maria", Some(session.version)))
        .await
        .unwrap()
        .session
        .unwrap();
    assert!(renamed.version > session.version);
    let refused = expect_refused(
        chat.client
            .set_session_title(retitle("Lost update", Some(session.version)))
            .await,
        Code::Aborted,
        Some("VERSION_MISMATCH"),
    );
    assert!(
        refused.message().contains("read it again"),
        "says what to do: {refused}"
    );
    assert_eq!(
        refused.metadata().get("actual_version"),
        Some(&renamed.version.to_string())
    );

    // The desk's version, for desk-wide calls.
    let desk = ada.client.get_desk(Default::default()).await.unwrap();
    let version = desk.desk.unwrap().version;
    let set_width = |width: u32, expected_version: Option<u64>| pb::AgentServiceSetWidthRequest {
        width,
        expected_version,
        ..Default::default()
    };
    ada.client
        .set_width(set_width(400, Some(version)))
        .await
        .unwrap();
    expect_refused(
        ada.client.set_width(set_width(500, Some(version))).await,
        Code::Aborted,
        Some("VERSION_MISMATCH"),
    );

    // Versions are state: they survive a crash.
    let mut cifd = harness.cifd;
    restart(&mut cifd, Stop::Kill, on(&data_dir), &harness.admin).await;
    let read = chat
        .client
        .get_session(pb::GetSessionRequest {
            session_id: session.id.clone(),
        })
        .await
        .unwrap()
        .session
        .unwrap();
    assert_eq!(read.version, renamed.version);
    assert_eq!(
        read.title, "Chat with Maria",
        "the stale write changed nothing"
    );
    chat.client
        .set_session_title(retitle("Chat with Maria Garcia", Some(read.version)))
        .await
        .expect("the current version is accepted");
    let desk = ada.client.get_desk(Default::default()).await.unwrap();
    assert_eq!(desk.desk.unwrap().panel_width, 400);
}

/// Runs cifd to its end (a command, or a start that must fail); one that is still running
/// after a while is killed and fails the test.
fn cifd_command(args: &[&str]) -> std::process::Output {
    let mut child = Command::new(cifd_binary())
        .args(args)
        .env("CIF_ADMIN_TOKEN", OPERATOR_TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cifd runs");
    let deadline = std::time::Instant::now() + PATIENCE;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "cifd {args:?} was still running:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn a_backup_of_a_running_server_restores_into_a_new_log() {
    let live_dir = DataDir::new();
    let harness = Harness::start_with(on(&live_dir)).await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;
    for title in ["one", "two"] {
        chat.client
            .create_session(session_for(&ada, title))
            .await
            .unwrap();
    }
    // Writes go on while the backup runs.
    let writer = {
        let (chat, request) = (chat.client.clone(), session_for(&ada, "during the backup"));
        tokio::spawn(async move {
            for _ in 0..8 {
                chat.create_session(request.clone()).await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let backups = DataDir::new();
    std::fs::create_dir_all(backups.path()).unwrap();
    let file = backups.path().join("cifd.backup");
    let data_dir = live_dir.path().to_str().unwrap();
    let made = cifd_command(&[
        "--data-dir",
        data_dir,
        "backup",
        "--to",
        file.to_str().unwrap(),
    ]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    writer.await.unwrap();
    let again = cifd_command(&[
        "--data-dir",
        data_dir,
        "backup",
        "--to",
        file.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2), "never overwrites a file");

    // Started as it is, the backup file is refused: it must be restored first.
    let misused = DataDir::new();
    std::fs::create_dir_all(misused.path()).unwrap();
    std::fs::copy(&file, misused.database()).unwrap();
    let refused = cifd_command(&["--data-dir", misused.path().to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("is a backup") && stderr.contains("cifd restore"),
        "{stderr}"
    );

    let restored_dir = DataDir::new();
    let restored = cifd_command(&[
        "--data-dir",
        restored_dir.path().to_str().unwrap(),
        "restore",
        "--from",
        file.to_str().unwrap(),
    ]);
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let into_used = cifd_command(&[
        "--data-dir",
        restored_dir.path().to_str().unwrap(),
        "restore",
        "--from",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        into_used.status.code(),
        Some(2),
        "only into an empty directory"
    );

    // A watcher of the old server, then the restored one on the same address.
    let old_log = harness
        .admin
        .get_server_info(Default::default())
        .await
        .unwrap();
    let mut watch = caught_up(harness.admin.watch(false)).await;
    let mut cifd = harness.cifd;
    assert!(cifd.terminate(PATIENCE).await.success());
    cifd = Cifd::start_with(Options {
        listen: Some(cifd.address),
        ..on(&restored_dir)
    });
    let Update::Snapshot {
        log_id,
        sequence,
        items,
        resynchronized,
    } = skip_heartbeats(&mut watch).await
    else {
        panic!("a resynchronising snapshot")
    };
    assert!(
        resynchronized,
        "LOG_CHANGED: the SDK starts again from a snapshot"
    );
    assert_ne!(log_id, old_log.log_id, "a restored server has a new log id");
    assert!(sequence <= old_log.sequence);
    let admin = cifd.admin().await;
    expect_refused(
        admin
            .generated()
            .watch(pb::WatchRequest {
                log_id: old_log.log_id.clone(),
                after_sequence: sequence,
                ..Default::default()
            })
            .await
            .map_err(cif_sdk::Error::from),
        Code::OutOfRange,
        Some("LOG_CHANGED"),
    );

    // The backup is one consistent moment: what it holds is what its own log says, with
    // everything written before the backup started.
    let restored_sessions = sessions(&admin).await;
    let titles: Vec<&str> = restored_sessions.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles[..2], ["one", "two"]);
    let mut whole = admin.watch(false).resuming_after(log_id.clone(), 0);
    let created: Vec<String> = cif_e2e::events_until(&mut whole, sequence)
        .await
        .into_iter()
        .filter_map(|(_, event)| match event.kind {
            Some(pb::event::Kind::SessionCreated(created)) => Some(created.session.unwrap().id),
            _ => None,
        })
        .collect();
    let ids: Vec<String> = restored_sessions.iter().map(|s| s.id.clone()).collect();
    assert_eq!(ids, created);
    let Some(pb::snapshot_item::Item::Desk(desk)) = items[0].item.clone() else {
        panic!("a desk")
    };
    assert_eq!(desk.sessions.len(), ids.len());
    // Providers keep their credentials.
    chat.client
        .list_sessions(Default::default())
        .await
        .expect("the restored server knows the provider");
}

#[tokio::test]
async fn unusable_data_files_stop_startup_naming_the_file_and_what_to_do() {
    let starts = |dir: &DataDir| {
        let output = cifd_command(&[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "exit status 2, never a panic"
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    };

    let garbage = DataDir::new();
    std::fs::create_dir_all(garbage.path()).unwrap();
    std::fs::write(garbage.database(), vec![0xAB; 64 * 1024]).unwrap();
    let stderr = starts(&garbage);
    assert!(
        stderr.contains(garbage.database().to_str().unwrap()) && stderr.contains("cifd restore"),
        "{stderr}"
    );

    // A real database, cleanly stopped, then cut short.
    let truncated = DataDir::new();
    let harness = Harness::start_with(on(&truncated)).await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;
    for n in 0..50 {
        let session = chat
            .client
            .create_session(session_for(&ada, &format!("session {n}")))
            .await
            .unwrap();
        ada.client
            .close_session(pb::CloseSessionRequest {
                session_id: session.session.unwrap().id,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let mut cifd = harness.cifd;
    assert!(cifd.terminate(PATIENCE).await.success());
    let length = std::fs::metadata(truncated.database()).unwrap().len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(truncated.database())
        .unwrap();
    file.set_len(length / 2).unwrap();
    drop(file);
    let stderr = starts(&truncated);
    assert!(
        stderr.contains(truncated.database().to_str().unwrap()) && stderr.contains("truncated"),
        "{stderr}"
    );

    // Records that contradict each other (an agent's home session deleted by hand): refused
    // at startup, naming the contradiction, never a panic later in a call.
    let contradicting = DataDir::new();
    let harness = Harness::start_with(on(&contradicting)).await;
    let ada = harness.agent("Ada", &[]).await;
    let home = ada.home_session_id().await;
    let mut cifd = harness.cifd;
    assert!(cifd.terminate(PATIENCE).await.success());
    let deleted = rusqlite::Connection::open(contradicting.database())
        .unwrap()
        .execute(
            "DELETE FROM records WHERE kind = 'session' AND id = ?1",
            [&home],
        )
        .unwrap();
    assert_eq!(deleted, 1, "the home session's record");
    let stderr = starts(&contradicting);
    assert!(
        stderr.contains("contradicts itself")
            && stderr.contains(&format!("home session {home}"))
            && stderr.contains("cifd restore"),
        "{stderr}"
    );

    // The database gone, its journal left behind: never a silent fresh start.
    let missing = DataDir::new();
    std::fs::create_dir_all(missing.path()).unwrap();
    std::fs::write(missing.path().join("cifd.db-wal"), b"left over").unwrap();
    let stderr = starts(&missing);
    assert!(stderr.contains("is missing"), "{stderr}");
}

#[tokio::test]
async fn a_generated_operator_token_belongs_to_its_data_directory() {
    let data_dir = DataDir::new();
    let first = Cifd::start_with(Options {
        token: TokenSource::Generated,
        ..on(&data_dir)
    });
    let token = first.operator_token.clone();
    drop(first);
    // The second start prints no token and accepts the first one.
    let second = Cifd::start_with(Options {
        token: TokenSource::Given(token.clone()),
        ..on(&data_dir)
    });
    second
        .admin()
        .await
        .get_server_info(Default::default())
        .await
        .expect("the token generated on the first start still works");
}

#[tokio::test]
async fn closed_sessions_are_readable_until_the_retention_age_then_gone() {
    let harness = Harness::start_with(
        Options::default()
            // Long enough that a loaded machine still reads the session once before it goes.
            .arg("--closed-session-retention")
            .arg("3s"),
    )
    .await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;
    let session = chat
        .client
        .create_session(session_for(&ada, "Chat"))
        .await
        .unwrap()
        .session
        .unwrap();
    // Before the close: the server's clock for the retention starts after this.
    let closed_at = std::time::Instant::now();
    ada.client
        .close_session(pb::CloseSessionRequest {
            session_id: session.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let get = || {
        chat.client.get_session(pb::GetSessionRequest {
            session_id: session.id.clone(),
        })
    };
    let closed = get().await.expect("readable by its owner while retained");
    assert_eq!(closed.session.unwrap().state(), pb::SessionState::Closed);
    let gone = loop {
        match get().await {
            Ok(_) => {
                assert!(closed_at.elapsed() < PATIENCE, "never removed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => break error,
        }
    };
    assert!(
        closed_at.elapsed() >= Duration::from_millis(2900),
        "kept for its retention"
    );
    expect_refused(
        Err::<(), _>(gone),
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );
    assert!(sessions(&harness.admin).await.is_empty());
}
