//! A browser that vanishes without closing its connection (a suspended laptop, a cut
//! network) must not keep its desk online: its stream ends within about
//! `--dead-peer-timeout` even over HTTP/1.1 grpc-web, where there is no HTTP/2 keepalive and
//! heartbeats keep the socket busy (so TCP keepalive never probes).
//!
//! The browser here is `buf curl` following AgentService.Subscribe from a network namespace
//! this test makes (a veth pair on addresses of its own); the test then takes the namespace's
//! link down, so nothing the server sends is ever acknowledged, and nothing says goodbye.
//! Making a namespace needs root (CI runs as root); elsewhere the test says so and passes.

use std::process::Command;
use std::time::{Duration, Instant};

use cif_e2e::buf_curl::BufCurl;
use cif_e2e::{Harness, Options};
use cif_sdk::pb;
use serde_json::json;

/// A network namespace joined to this one by a veth pair, removed when dropped.
struct Namespace {
    name: String,
    inside: String,
    host_address: String,
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("ip runs");
    assert!(status.success(), "ip {args:?} failed");
}

impl Namespace {
    /// None when this process cannot make one (not root, or no `ip`).
    fn make() -> Option<Self> {
        let can = Command::new("ip")
            .args(["netns", "list"])
            .output()
            .is_ok_and(|output| output.status.success());
        // The effective user, from /proc.
        let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
            status
                .lines()
                .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(2) == Some("0"))
        });
        if !can || !root {
            return None;
        }
        let tag = std::process::id() % 100_000;
        let subnet = 1 + std::process::id() % 250;
        let namespace = Self {
            name: format!("cifd-vanish-{tag}"),
            inside: format!("cvn{tag}"),
            host_address: format!("10.251.{subnet}.1"),
        };
        let host_side = format!("cvh{tag}");
        ip(&["netns", "add", &namespace.name]);
        ip(&[
            "link",
            "add",
            &host_side,
            "type",
            "veth",
            "peer",
            "name",
            &namespace.inside,
        ]);
        ip(&["link", "set", &namespace.inside, "netns", &namespace.name]);
        ip(&[
            "addr",
            "add",
            &format!("{}/24", namespace.host_address),
            "dev",
            &host_side,
        ]);
        ip(&["link", "set", &host_side, "up"]);
        namespace.inside(&[
            "addr",
            "add",
            &format!("10.251.{subnet}.2/24"),
            "dev",
            &namespace.inside,
        ]);
        namespace.inside(&["link", "set", &namespace.inside, "up"]);
        Some(namespace)
    }

    fn inside(&self, args: &[&str]) {
        let mut all = vec!["netns", "exec", &self.name, "ip"];
        all.extend_from_slice(args);
        ip(&all);
    }

    /// The namespace's side goes dark: no packet in or out, no FIN, no RST.
    fn cut(&self) {
        self.inside(&["link", "set", &self.inside, "down"]);
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // Deleting the namespace deletes its veth end, and with it the host's end.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

#[tokio::test]
async fn a_vanished_browser_on_http1_goes_offline_in_bounded_time() {
    let Some(namespace) = Namespace::make() else {
        eprintln!("not run: making a network namespace needs root and iproute2");
        return;
    };
    let dead_peer = Duration::from_secs(2);
    let harness = Harness::start_with(Options {
        listen: Some(format!("{}:0", namespace.host_address).parse().unwrap()),
        ..Options::default()
            .arg("--dead-peer-timeout")
            .arg(format!("{}s", dead_peer.as_secs()))
            .arg("--heartbeat-interval")
            .arg("200ms")
            .arg("--desk-grace")
            .arg("1s")
            .arg("--metrics-listen")
            .arg("127.0.0.1:0")
            // The namespace's link is this machine's own: no network to protect.
            .arg("--allow-plaintext")
    })
    .await;
    let provider = harness.provider("web_phone").await;
    let agent = harness.agent("Ada", &[&provider]).await;

    let browser = BufCurl {
        address: harness.cifd.address.to_string(),
        http2: false,
        netns: Some(namespace.name.clone()),
    };
    let desk = browser.follow(
        &agent.credential,
        "cif.v1.AgentService/Subscribe",
        json!({"snapshot": true}),
    );
    desk.until(
        "the desk's stream catches up",
        Duration::from_secs(60),
        |message| message["message"]["heartbeat"].is_object(),
    );
    let open_streams = || {
        harness
            .cifd
            .scrape()
            .lines()
            .find_map(|line| {
                line.strip_prefix("cif_open_streams ")?
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .expect("cif_open_streams")
    };
    assert_eq!(open_streams(), 1);

    namespace.cut();
    let cut = Instant::now();
    // Without a bound on unacknowledged data, Linux retransmits for about 15 minutes.
    let bound = Duration::from_secs(90);
    while open_streams() != 0 {
        assert!(
            cut.elapsed() < bound,
            "the vanished browser's stream is still open after {bound:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("the stream ended {:?} after the cut", cut.elapsed());

    // With the stream gone and the grace over, the desk is offline: a toast is refused.
    let deadline = Instant::now() + Duration::from_secs(60);
    for attempt in 1u32.. {
        let answer = provider
            .client
            .notify_event(pb::NotifyEventRequest {
                agent_id: agent.id().into(),
                notification_id: format!("0199f0c8-51c4-7bb0-9d8e-{attempt:012}"),
                title: "Incoming call".into(),
                countdown_seconds: Some(1),
                ..Default::default()
            })
            .await;
        match answer {
            Err(error) if error.reason() == Some("DESK_OFFLINE") => {
                assert_eq!(error.code(), tonic::Code::FailedPrecondition);
                break;
            }
            other => assert!(
                Instant::now() < deadline,
                "the desk is still online: {other:?}"
            ),
        }
    }
}
