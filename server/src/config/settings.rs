//! Settings: command-line flags, each with a `CIF_...` environment variable, over an optional
//! TOML file (`--config`), over built-in defaults. The operator token is never a flag.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use super::declarations::DECLARATION_KEYS;
use super::error::StartupError;

const AFTER_HELP: &str = "\
Operator token:
  CIF_ADMIN_TOKEN=<token>   the operator token (at least 32 characters), or
  --admin-token-file FILE   a file holding it. With neither, cifd generates a token and
                            prints it once at startup. The token is never a flag: other
                            users of the machine can read command lines.

Every flag can also be set by its environment variable (shown in brackets) or, with
--config FILE, by a TOML key of the same name (`listen = \"127.0.0.1:50051\"`).
Precedence: flag, then environment, then the file, then the default.";

/// cifd: the control plane for multi-provider agent desktops (cif.v1 over gRPC).
#[derive(Parser, Debug, Clone)]
#[command(name = "cifd", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Without a command, cifd serves.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to serve gRPC on. Port 0 takes a free port; either way the bound address is
    /// printed on a line of its own: `cifd listening on <address>`.
    #[arg(
        long,
        env = "CIF_LISTEN",
        value_name = "ADDRESS",
        default_value = "127.0.0.1:50051"
    )]
    pub listen: SocketAddr,

    /// Directory holding the state and the event log (created if missing). Everything a call
    /// acknowledged is on disk there before the answer.
    #[arg(
        long,
        env = "CIF_DATA_DIR",
        value_name = "DIR",
        default_value = "cifd-data"
    )]
    pub data_dir: PathBuf,

    /// Keep everything in memory only, for throwaway runs: a restart starts empty, with a new
    /// log id.
    #[arg(long, env = "CIF_IN_MEMORY", conflicts_with = "store")]
    pub in_memory: bool,

    /// Keep the state in a PostgreSQL database instead of the data directory:
    /// postgres://USER@HOST:PORT/DATABASE. The password comes from CIF_STORE_PASSWORD (or
    /// PGPASSWORD), never from the URL, which shows in process lists.
    #[arg(long, env = "CIF_STORE", value_name = "URL")]
    pub store: Option<String>,

    /// Where the other replicas on the same --store reach this cifd, to forward changing
    /// calls while it is the writer: http://HOST:PORT. Default: http:// and the bound
    /// --listen address, which suits replicas on one machine.
    #[arg(long, env = "CIF_ADVERTISE", value_name = "URL", requires = "store")]
    pub advertise: Option<String>,

    /// File holding the operator token (at least 32 characters; surrounding whitespace is
    /// ignored). See also CIF_ADMIN_TOKEN below.
    #[arg(long, env = "CIF_ADMIN_TOKEN_FILE", value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,

    /// TOML file with settings, one key per flag (`max_request_bytes = 65536`).
    #[arg(long, env = "CIF_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Largest request message accepted, in bytes. A larger one is refused by the transport
    /// before any handler runs.
    #[arg(long, env = "CIF_MAX_REQUEST_BYTES", value_name = "BYTES", default_value_t = 1 << 20,
          value_parser = clap::value_parser!(u32).range(1024..))]
    pub max_request_bytes: u32,

    /// Open sessions per agent (home not counted) for agents created without their own limit.
    #[arg(long, env = "CIF_DEFAULT_MAX_OPEN_SESSIONS", value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub default_max_open_sessions: u32,

    /// Tabs per session for agents created without their own limit.
    #[arg(long, env = "CIF_DEFAULT_MAX_TABS_PER_SESSION", value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub default_max_tabs_per_session: u32,

    /// Pending toasts per agent (the one on screen included) for agents created without their
    /// own limit.
    #[arg(long, env = "CIF_DEFAULT_MAX_QUEUED_NOTIFICATIONS", value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub default_max_queued_notifications: u32,

    /// Audit entries kept (AdminService.ListAuditEntries): the newest N; older ones are
    /// forgotten.
    #[arg(long, env = "CIF_AUDIT_RETENTION", value_name = "N", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub audit_retention: u64,

    /// How long audit entries are kept, at most.
    #[arg(long, env = "CIF_AUDIT_RETENTION_AGE", value_name = "DURATION", default_value = "90days",
          value_parser = positive_duration)]
    pub audit_retention_age: Duration,

    /// How long closed sessions stay readable by their owners; then they are removed with
    /// their tabs.
    #[arg(long, env = "CIF_CLOSED_SESSION_RETENTION", value_name = "DURATION", default_value = "24h",
          value_parser = humantime::parse_duration)]
    pub closed_session_retention: Duration,

    /// Events kept (in memory and on disk) so streams can resume after a disconnect or a
    /// restart; a resume point older than this is refused with RESUME_POINT_COMPACTED.
    #[arg(long, env = "CIF_HISTORY_EVENTS", value_name = "N", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub history_events: u64,

    /// Events older than this are dropped from the history too, however few there are.
    #[arg(long, env = "CIF_HISTORY_AGE", value_name = "DURATION", default_value = "7days",
          value_parser = positive_duration)]
    pub history_age: Duration,

    /// Answers kept for retries of calls that carried a request_id: the newest N. A retry of
    /// a call whose answer is no longer kept is applied as a new call.
    #[arg(long, env = "CIF_REQUEST_IDS", value_name = "N", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_ids: u64,

    /// Answers older than this are not kept for retries either.
    #[arg(long, env = "CIF_REQUEST_ID_AGE", value_name = "DURATION", default_value = "24h",
          value_parser = positive_duration)]
    pub request_id_age: Duration,

    /// Events queued per stream; a stream that falls further behind is ended with
    /// SUBSCRIBER_LAGGED (and resumes with nothing lost), so it never slows anyone else.
    #[arg(long, env = "CIF_SUBSCRIBER_QUEUE", value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub subscriber_queue: u64,

    /// Open streams per principal (provider, agent or operator).
    #[arg(long, env = "CIF_MAX_STREAMS_PER_PRINCIPAL", value_name = "N", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_streams_per_principal: u64,

    /// How often idle streams get a heartbeat carrying the current sequence (e.g. 15s, 500ms).
    #[arg(long, env = "CIF_HEARTBEAT_INTERVAL", value_name = "DURATION", default_value = "15s",
          value_parser = positive_duration)]
    pub heartbeat_interval: Duration,

    /// How long a desk counts as online after its last stream ended: toasts raised meanwhile
    /// wait and are shown when it is back; after that, new toasts are refused (DESK_OFFLINE).
    #[arg(long, env = "CIF_DESK_GRACE", value_name = "DURATION", default_value = "30s",
          value_parser = humantime::parse_duration)]
    pub desk_grace: Duration,

    /// After SIGTERM or SIGINT: how long open connections may finish before they are closed.
    /// Streams end at once.
    #[arg(long, env = "CIF_SHUTDOWN_GRACE", value_name = "DURATION", default_value = "10s",
          value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,

    /// Serve Prometheus metrics (text, `GET /metrics`) on this address; port 0 takes a free
    /// port, printed as `cifd metrics on <address>`. Unset: no metrics endpoint.
    #[arg(long, env = "CIF_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,

    /// Let providers' channel URLs be http on this machine's loopback (127.0.0.1, localhost,
    /// [::1]), which browsers treat as secure: for developing and testing widgets. Otherwise
    /// they must be https.
    #[arg(long, env = "CIF_LOOPBACK_HTTP_WIDGETS")]
    pub loopback_http_widgets: bool,

    /// Web origins (`https://desk.example.com`, comma-separated) whose pages may call cifd
    /// over grpc-web from a browser (CORS). cifd's own pages need none; widgets never get
    /// one (they call through the desk page).
    #[arg(long, env = "CIF_CORS_ORIGINS", value_name = "ORIGINS", value_delimiter = ',',
          value_parser = web_origin)]
    pub cors_origins: Vec<String>,

    /// How long a widget credential works (the desk page renews it while the widget is
    /// loaded): short, so one copied out of a browser soon stops working.
    #[arg(long, env = "CIF_WIDGET_CREDENTIAL_LIFETIME", value_name = "DURATION",
          default_value = "10m", value_parser = positive_duration)]
    pub widget_credential_lifetime: Duration,

    /// Origins agents open the desk page on besides cifd's own address (a load balancer's
    /// `https://desk.example.com`, comma-separated). Channel and website tab URLs on the
    /// desk's origins are refused: a frame there could read the agent's credential.
    #[arg(long, env = "CIF_DESK_ORIGINS", value_name = "ORIGINS", value_delimiter = ',',
          value_parser = web_origin)]
    pub desk_origins: Vec<String>,

    /// How long a connection may leave what cifd sent unacknowledged before it is closed, so
    /// a browser that vanished without closing (a suspended laptop) ends its streams and its
    /// desk goes offline in bounded time, on HTTP/1.1 as on HTTP/2. Also how long a new
    /// connection may take to finish its TLS handshake and send its first request, and an
    /// HTTP/1.1 request head to arrive, so slow or silent clients hold nothing for long.
    #[arg(long, env = "CIF_DEAD_PEER_TIMEOUT", value_name = "DURATION", default_value = "20s",
          value_parser = positive_duration)]
    pub dead_peer_timeout: Duration,

    /// Calls a second each principal (a provider, an agent, a widget credential, the
    /// operator) may make on average; faster calls are refused with RESOURCE_EXHAUSTED
    /// (RATE_LIMITED) and when to retry. 0: no limit.
    #[arg(long, env = "CIF_RATE_LIMIT", value_name = "CALLS", default_value_t = 1000.0,
          value_parser = non_negative)]
    pub rate_limit: f64,

    /// Calls a principal may make at once after a quiet spell, above --rate-limit's average.
    #[arg(long, env = "CIF_RATE_BURST", value_name = "CALLS", default_value_t = 2000.0,
          value_parser = at_least_one)]
    pub rate_burst: f64,

    /// Another rate for one provider (and its widgets' credentials), by unique name:
    /// `contoso_bulk=5000`, comma-separated. Its burst is twice the rate.
    #[arg(long, env = "CIF_PROVIDER_RATE_LIMITS", value_name = "NAME=CALLS",
          value_delimiter = ',', value_parser = provider_rate)]
    pub provider_rate_limits: Vec<(String, f64)>,

    /// Calls without a valid credential (health, reflection, a missing or unknown credential)
    /// a second one address may make, twice that at once; faster ones are refused with
    /// RESOURCE_EXHAUSTED (RATE_LIMITED). Other replicas, recognised by their certificate
    /// (--tls-peer-ca), are not counted. 0: no limit.
    #[arg(long, env = "CIF_UNAUTHENTICATED_RATE_LIMIT", value_name = "CALLS", default_value_t = 100.0,
          value_parser = non_negative)]
    pub unauthenticated_rate_limit: f64,

    /// Calls this server works on at once (streams, and toasts waiting for the agent, not
    /// counted); more are shed with UNAVAILABLE (SERVER_OVERLOADED) and when to retry, before
    /// waiting makes every call late. 0: no limit.
    #[arg(
        long,
        env = "CIF_MAX_CALLS_IN_FLIGHT",
        value_name = "N",
        default_value_t = 256
    )]
    pub max_calls_in_flight: usize,

    /// Connections held open at once; a new one past it is closed at once. 0: no limit.
    #[arg(
        long,
        env = "CIF_MAX_CONNECTIONS",
        value_name = "N",
        default_value_t = 10_000
    )]
    pub max_connections: usize,

    /// Connections held open at once from one address (clients behind one NAT share it).
    /// 0: no limit.
    #[arg(
        long,
        env = "CIF_MAX_CONNECTIONS_PER_ADDRESS",
        value_name = "N",
        default_value_t = 1_000
    )]
    pub max_connections_per_address: usize,

    /// Calls and streams open at once on one HTTP/2 connection; a client asks for more only
    /// as others end.
    #[arg(long, env = "CIF_MAX_STREAMS_PER_CONNECTION", value_name = "N", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_streams_per_connection: u32,

    /// PEM file with the server's certificate chain: serve TLS on --listen (gRPC, grpc-web
    /// and the desk page; HTTP/2 or HTTP/1.1 as ALPN chooses). Read again when it changes:
    /// new connections get the new certificate, open ones go on. Needs --tls-key.
    #[arg(long, env = "CIF_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM file with the certificate's private key (PKCS#8, PKCS#1 or SEC1), read again with
    /// the certificate.
    #[arg(long, env = "CIF_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// PEM file with the CAs whose client certificates are accepted: every client must then
    /// present one they signed.
    #[arg(
        long,
        env = "CIF_TLS_CLIENT_CA",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_client_ca: Option<PathBuf>,

    /// PEM file with the CAs that sign the other replicas' certificates: a follower forwards
    /// changes to a writer that serves TLS (an https --advertise address) only after checking
    /// its certificate and name against them, and presents its own certificate (the renewed one
    /// once --tls-cert changes). A client presenting a certificate they signed is recognised as
    /// a replica, which the rate of calls without a credential per address does not count.
    #[arg(
        long,
        env = "CIF_TLS_PEER_CA",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_peer_ca: Option<PathBuf>,

    /// Serve without TLS on an address other than loopback (behind a proxy that terminates
    /// TLS, say). Without it cifd refuses to, so that credentials never cross a network in
    /// clear by mistake.
    #[arg(long, env = "CIF_ALLOW_PLAINTEXT")]
    pub allow_plaintext: bool,

    /// Log filter in tracing's syntax, e.g. `info` or `cifd=debug,info`. Logs go to stderr.
    #[arg(long, env = "CIF_LOG", value_name = "FILTER", default_value = "info")]
    pub log: String,
}

/// What else cifd can do besides serving.
#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Writes a consistent copy of the database in --data-dir to a new FILE; the server may be
    /// running meanwhile. Start from it with `cifd restore`.
    Backup {
        /// The file to write; it must not exist.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Starts a new --data-dir (missing or empty) from a backup. It gets a new log id, so
    /// clients of the old server resynchronise instead of resuming into an older history.
    Restore {
        /// The backup `cifd backup` wrote.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
}

impl Cli {
    /// Reads flags, environment and the `--config` file.
    pub fn load() -> Result<Self, StartupError> {
        Self::load_from(std::env::args_os().collect::<Vec<_>>())
    }

    pub fn load_from<I, T>(args: I) -> Result<Self, StartupError>
    where
        I: IntoIterator<Item = T> + Clone,
        T: Into<std::ffi::OsString> + Clone,
    {
        let first = Self::try_parse_from(args.clone())?;
        let Some(path) = &first.config else {
            return Ok(first);
        };
        let mut command = Self::command();
        for (key, value) in read_config_file(path)? {
            let id = key.replace('-', "_");
            let known = command.get_arguments().any(|arg| {
                arg.get_id() == id.as_str() && !["config", "help", "version"].contains(&id.as_str())
            });
            if !known {
                return Err(StartupError::Config(format!(
                    "{}: unknown setting `{key}`; the settings are the long flags of `cifd --help` (except config)",
                    path.display()
                )));
            }
            command = command.mut_arg(id, |arg| arg.default_value(value));
        }
        let matches = command.try_get_matches_from(args)?;
        Ok(Self::from_arg_matches(&matches)?)
    }

    /// The call rates these flags give: `None` without limits.
    pub fn call_rates(&self) -> Option<crate::app::CallRates> {
        (self.rate_limit > 0.0).then(|| {
            crate::app::CallRates::new(
                crate::app::Rate {
                    per_second: self.rate_limit,
                    burst: self.rate_burst.max(1.0),
                },
                self.provider_rate_limits.iter().cloned(),
            )
        })
    }

    /// The rate of calls without a valid credential from each address: `None` without limit.
    pub fn address_rates(&self) -> Option<crate::app::AddressRates> {
        (self.unauthenticated_rate_limit > 0.0).then(|| {
            crate::app::AddressRates::new(crate::app::Rate {
                per_second: self.unauthenticated_rate_limit,
                burst: (self.unauthenticated_rate_limit * 2.0).max(1.0),
            })
        })
    }

    /// The bound on calls in flight: `None` without one.
    pub fn in_flight(&self) -> Option<crate::app::InFlight> {
        (self.max_calls_in_flight > 0).then(|| crate::app::InFlight::new(self.max_calls_in_flight))
    }

    /// The bounds on open connections.
    pub fn connection_limits(&self) -> crate::transport::ConnectionLimits {
        crate::transport::ConnectionLimits {
            total: self.max_connections,
            per_address: self.max_connections_per_address,
        }
    }

    /// The TLS files, when cifd serves TLS.
    pub fn tls_files(&self) -> Option<crate::tls::TlsFiles> {
        Some(crate::tls::TlsFiles {
            certificate: self.tls_cert.clone()?,
            key: self.tls_key.clone()?,
            client_ca: self.tls_client_ca.clone(),
        })
    }

    /// Refuses to serve in clear on an address other than loopback unless told to.
    pub fn check_plaintext(&self) -> Result<(), String> {
        if self.tls_cert.is_some() || self.allow_plaintext || self.listen.ip().is_loopback() {
            return Ok(());
        }
        Err(format!(
            "--listen {} is not a loopback address, and credentials would cross the network in clear: serve TLS (--tls-cert and --tls-key), or say --allow-plaintext (behind a proxy that terminates TLS)",
            self.listen
        ))
    }

    /// The scheme cifd's own URLs have: `https` when it serves TLS.
    pub fn scheme(&self) -> &'static str {
        if self.tls_cert.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The event log's settings these flags give.
    pub fn log_settings(&self) -> crate::app::log::LogSettings {
        let size = |value: u64| usize::try_from(value).unwrap_or(usize::MAX);
        crate::app::log::LogSettings {
            history: size(self.history_events),
            history_age: self.history_age,
            queue: size(self.subscriber_queue),
            max_streams_per_principal: size(self.max_streams_per_principal),
        }
    }

    /// Which answers these flags keep for retries.
    pub fn request_retention(&self) -> crate::app::RequestRetention {
        crate::app::RequestRetention {
            count: usize::try_from(self.request_ids).unwrap_or(usize::MAX),
            age: self.request_id_age,
        }
    }

    /// The domain settings these flags give, for a server listening on `listening`.
    pub fn domain_settings(&self, listening: SocketAddr) -> crate::domain::Settings {
        crate::domain::Settings {
            default_limits: crate::domain::registry::AgentLimits {
                max_open_sessions: self.default_max_open_sessions,
                max_tabs_per_session: self.default_max_tabs_per_session,
                max_queued_notifications: self.default_max_queued_notifications,
            },
            closed_session_retention: self.closed_session_retention,
            desk_grace: self.desk_grace,
            urls: crate::domain::UrlPolicy {
                loopback_http_widgets: self.loopback_http_widgets,
                desk_origins: self.all_desk_origins(listening),
            },
            widget_credential_lifetime: self.widget_credential_lifetime,
            audit_retention: crate::domain::audit::AuditRetention {
                count: usize::try_from(self.audit_retention).unwrap_or(usize::MAX),
                age: self.audit_retention_age,
            },
            ..crate::domain::Settings::default()
        }
    }

    /// The origins the desk page is served on: cifd's own address (on loopback or every
    /// address, by each loopback name a browser may use) and those `--desk-origins` adds.
    fn all_desk_origins(&self, listening: SocketAddr) -> Vec<String> {
        let port = listening.port();
        let scheme = self.scheme();
        let mut origins = if listening.ip().is_loopback() || listening.ip().is_unspecified() {
            vec![
                format!("{scheme}://127.0.0.1:{port}"),
                format!("{scheme}://localhost:{port}"),
                format!("{scheme}://[::1]:{port}"),
            ]
        } else {
            vec![format!("{scheme}://{listening}")]
        };
        origins.extend(self.desk_origins.iter().cloned());
        origins
    }
}

fn non_negative(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
        _ => Err("must be a number of calls, 0 or more".into()),
    }
}

fn at_least_one(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 1.0 => Ok(value),
        _ => Err("must be a number of calls, at least 1".into()),
    }
}

/// `unique_name=calls`.
fn provider_rate(text: &str) -> Result<(String, f64), String> {
    let (name, rate) = text
        .split_once('=')
        .ok_or("write a provider's unique name, =, and its calls a second: contoso_bulk=5000")?;
    Ok((name.trim().to_lowercase(), at_least_one(rate.trim())?))
}

fn positive_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => Err("must be more than zero".into()),
        Ok(duration) => Ok(duration),
        Err(error) => Err(format!("{error} (write e.g. 15s or 500ms)")),
    }
}

/// A web origin as browsers send it: `http` or `https`, `://`, a host, an optional port, and
/// nothing else (no path, no trailing slash).
fn web_origin(text: &str) -> Result<String, String> {
    let hint = "write an origin such as https://desk.example.com or http://127.0.0.1:8080";
    let (scheme, rest) = text
        .split_once("://")
        .ok_or_else(|| format!("`{text}` is not an origin: {hint}"))?;
    let host_and_port_only = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    if !matches!(scheme, "http" | "https") || !host_and_port_only {
        return Err(format!("`{text}` is not an origin: {hint}"));
    }
    Ok(text.to_ascii_lowercase())
}

/// The file's settings as strings, for clap to parse like any flag value.
fn read_config_file(path: &Path) -> Result<Vec<(String, String)>, StartupError> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        StartupError::Config(format!("cannot read {}: {error}", path.display()))
    })?;
    settings_in(path, &text)
}

/// The settings a configuration file's `text` gives, as flag names and values.
pub(crate) fn settings_in(path: &Path, text: &str) -> Result<Vec<(String, String)>, StartupError> {
    let table: toml::Table = text
        .parse()
        .map_err(|error| StartupError::Config(format!("{}: {error}", path.display())))?;
    table
        .into_iter()
        .filter(|(key, _)| !DECLARATION_KEYS.contains(&key.as_str()))
        .map(|(key, value)| {
            let text = match value {
                toml::Value::String(text) => text,
                toml::Value::Integer(number) => number.to_string(),
                toml::Value::Boolean(flag) => flag.to_string(),
                other => {
                    return Err(StartupError::Config(format!(
                        "{}: setting `{key}` is a {}; give a string, an integer or a boolean",
                        path.display(),
                        other.type_str()
                    )));
                }
            };
            Ok((key, text))
        })
        .collect()
}

/// The shortest operator token accepted.
pub const MIN_OPERATOR_TOKEN_LEN: usize = 32;

/// The operator token given in `CIF_ADMIN_TOKEN` or `--admin-token-file`, if any.
pub fn operator_token(
    cli: &Cli,
    env_token: Option<String>,
) -> Result<Option<String>, StartupError> {
    let env_token = env_token.filter(|token| !token.is_empty());
    let token = match (env_token, &cli.admin_token_file) {
        (Some(_), Some(_)) => {
            return Err(StartupError::Config(
                "both CIF_ADMIN_TOKEN and --admin-token-file are set; give the operator token one way".into(),
            ));
        }
        (Some(token), None) => token,
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|error| {
                StartupError::Config(format!(
                    "cannot read the operator token from {}: {error}",
                    path.display()
                ))
            })?
            .trim()
            .to_owned(),
        (None, None) => return Ok(None),
    };
    let length = token.chars().count();
    if length < MIN_OPERATOR_TOKEN_LEN {
        return Err(StartupError::Config(format!(
            "the operator token is {length} characters; it must have at least {MIN_OPERATOR_TOKEN_LEN} (e.g. `openssl rand -base64 32`)"
        )));
    }
    if !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(StartupError::Config(
            "the operator token must be printable ASCII without spaces: it travels in a header"
                .into(),
        ));
    }
    Ok(Some(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_is_complete() {
        Cli::command().debug_assert();
        let help = Cli::command().render_long_help().to_string();
        for needle in [
            "--listen",
            "CIF_LISTEN",
            "CIF_ADMIN_TOKEN",
            "--admin-token-file",
            "--config",
            "CIF_LOG",
        ] {
            assert!(help.contains(needle), "--help lacks {needle}");
        }
    }

    #[test]
    fn the_file_sits_between_defaults_and_flags() {
        let dir = std::env::temp_dir().join(format!("cifd-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cifd.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:7000\"\ndefault-max-open-sessions = 3\n",
        )
        .unwrap();
        let config = path.to_str().unwrap();
        let cli = Cli::load_from(["cifd", "--config", config]).unwrap();
        assert_eq!(cli.listen.port(), 7000);
        assert_eq!(cli.default_max_open_sessions, 3);
        let cli =
            Cli::load_from(["cifd", "--config", config, "--listen", "127.0.0.1:7001"]).unwrap();
        assert_eq!(cli.listen.port(), 7001);

        std::fs::write(&path, "lisen = \"x\"\n").unwrap();
        let error = Cli::load_from(["cifd", "--config", config]).unwrap_err();
        assert!(
            error.to_string().contains("unknown setting `lisen`"),
            "{error}"
        );

        std::fs::write(&path, "listen = [1]\n").unwrap();
        assert!(Cli::load_from(["cifd", "--config", config]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cors_origins_are_bare_origins() {
        let cli = Cli::load_from([
            "cifd",
            "--cors-origins",
            "https://Desk.example.com,http://127.0.0.1:8080,http://[::1]:9",
        ])
        .unwrap();
        assert_eq!(
            cli.cors_origins,
            [
                "https://desk.example.com",
                "http://127.0.0.1:8080",
                "http://[::1]:9"
            ]
        );
        for wrong in [
            "desk.example.com",
            "https://desk.example.com/",
            "ftp://x",
            "https://",
        ] {
            let error = Cli::load_from(["cifd", "--cors-origins", wrong]).unwrap_err();
            assert!(
                error.to_string().contains("is not an origin"),
                "{wrong}: {error}"
            );
        }
        assert!(Cli::load_from(["cifd"]).unwrap().cors_origins.is_empty());
    }

    #[test]
    fn the_desk_is_on_cifds_own_address_and_the_declared_origins() {
        let cli = Cli::load_from(["cifd", "--desk-origins", "https://Desk.example.com"]).unwrap();
        let on = |address: &str| {
            cli.domain_settings(address.parse().unwrap())
                .urls
                .desk_origins
        };
        assert_eq!(
            on("127.0.0.1:8080"),
            [
                "http://127.0.0.1:8080",
                "http://localhost:8080",
                "http://[::1]:8080",
                "https://desk.example.com"
            ]
        );
        assert_eq!(on("0.0.0.0:9").len(), 4);
        assert_eq!(
            on("10.1.2.3:9"),
            ["http://10.1.2.3:9", "https://desk.example.com"]
        );
    }

    #[test]
    fn operator_tokens_must_be_long_and_given_once() {
        let cli = Cli::load_from(["cifd"]).unwrap();
        assert!(operator_token(&cli, Some("short".into())).is_err());
        assert_eq!(
            operator_token(&cli, Some("x".repeat(32))).unwrap(),
            Some("x".repeat(32))
        );
        assert_eq!(
            operator_token(&cli, None).unwrap(),
            None,
            "cifd generates one then"
        );
        let with_file = Cli::load_from(["cifd", "--admin-token-file", "/nonexistent"]).unwrap();
        assert!(operator_token(&with_file, Some("x".repeat(32))).is_err());
    }
}
