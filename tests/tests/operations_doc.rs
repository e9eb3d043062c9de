//! docs/operations.md cannot rot: every shell block of it runs, in order, with grpcurl against a
//! live cifd, and every command must do what the page says (a call it shows refused must be
//! refused).

use std::time::Duration;

use cif_e2e::{Cifd, OPERATOR_TOKEN, cifd_binary, grpcurl_binary, repository, run_bash};

#[test]
fn every_command_of_the_operations_page_runs_against_a_live_server() {
    let page = std::fs::read_to_string(repository().join("docs/operations.md")).unwrap();
    let mut script = String::from("set -euo pipefail\n");
    let mut blocks = 0;
    let mut rest = page.as_str();
    while let Some(start) = rest.find("```sh\n") {
        let body = &rest[start + "```sh\n".len()..];
        let end = body.find("```").expect("a closed block");
        script.push_str(&body[..end]);
        blocks += 1;
        rest = &body[end + 3..];
    }
    assert!(blocks >= 10, "the page's blocks were found ({blocks})");

    let cifd = Cifd::start();
    let workdir = std::env::temp_dir().join(format!("cifd-ops-doc-{}", std::process::id()));
    std::fs::create_dir_all(&workdir).unwrap();
    let path = format!(
        "{}:{}:{}",
        grpcurl_binary().parent().unwrap().display(),
        cifd_binary().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = [
        ("PATH", path),
        ("CIF", cifd.address.to_string()),
        ("CIF_ADMIN_TOKEN", OPERATOR_TOKEN.to_owned()),
        ("CIF_DATA_DIR", cifd.data_dir.display().to_string()),
    ];
    // It takes seconds; this only bounds a hung run.
    let ran = run_bash(&script, &workdir, env, Duration::from_secs(120));
    let _ = std::fs::remove_dir_all(&workdir);
    ran.assert_success("the page's commands");
}
