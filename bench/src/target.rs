//! The servers under test, each its own process (pinned to the server's CPU when the machine
//! has two), and what the kernel says about them: CPU time and resident memory.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use cif_e2e::{Cifd, Harness, Options};
use cif_sdk::AdminClient;
use tonic::transport::Channel;

/// Where the servers and the load generator run.
#[derive(Clone, Debug)]
pub struct Placement {
    /// CPUs the machine has.
    pub cpus: usize,
    /// `taskset -c` CPUs for servers; `None` when the machine has a single CPU.
    pub server_cpus: Option<String>,
    pub description: String,
    /// Bytes of the baseline's unary answers.
    pub baseline_answer_bytes: usize,
}

impl Placement {
    /// Pins this process (the load generator, before it starts any thread) to the last CPU
    /// and leaves the others to the servers.
    pub fn pin_load_generator() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        if cpus < 2 {
            return Self {
                cpus,
                server_cpus: None,
                description: "one CPU: server and load generator share it (not pinned)".into(),
                baseline_answer_bytes: 0,
            };
        }
        let load = cpus - 1;
        let pinned = Command::new("taskset")
            .args(["-cp", &load.to_string(), &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !pinned {
            return Self {
                cpus,
                server_cpus: None,
                description: "taskset failed: server and load generator not pinned".into(),
                baseline_answer_bytes: 0,
            };
        }
        let servers = if load == 1 {
            "0".to_owned()
        } else {
            format!("0-{}", load - 1)
        };
        Self {
            cpus,
            description: format!(
                "servers pinned to CPU {servers}, the load generator to CPU {load} (taskset)"
            ),
            server_cpus: Some(servers),
            baseline_answer_bytes: 0,
        }
    }
}

impl Placement {
    /// `options` with the server on the servers' CPUs.
    pub fn place(&self, options: Options) -> Options {
        Options {
            cpus: self.server_cpus.clone(),
            ..options
        }
    }
}

/// A running baseline server (`cif-bench baseline`), killed when dropped.
pub struct Baseline {
    child: Child,
    pub address: SocketAddr,
}

impl Baseline {
    pub fn start(placement: &Placement) -> Self {
        let this = std::env::current_exe().expect("the benchmark's own path");
        let mut command = match &placement.server_cpus {
            None => Command::new(this),
            Some(cpus) => {
                let mut command = Command::new("taskset");
                command.args(["-c", cpus]).arg(this);
                command
            }
        };
        let mut child = command
            .arg("baseline")
            .args([
                "--answer-bytes",
                &placement.baseline_answer_bytes.to_string(),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the baseline starts");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("the baseline prints its address")
                .expect("readable");
            if let Some(address) = line.strip_prefix("baseline listening on ") {
                break address.parse().expect("an address");
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, address }
    }
}

impl Drop for Baseline {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server the load runs against: cifd (with its operator client), replicas of cifd on one
/// PostgreSQL database, or the baseline.
pub enum Server {
    Cifd(Box<Harness>),
    Baseline(Baseline),
    /// Followers first, then the writer; connection `n` goes to replica `n % len`, as a load
    /// balancer spreads them.
    Replicas {
        replicas: Vec<Cifd>,
        admin: Box<AdminClient>,
    },
}

impl Server {
    pub async fn cifd(placement: &Placement, options: Options) -> Self {
        Self::Cifd(Box::new(
            Harness::start_with(placement.place(options)).await,
        ))
    }

    /// `count` replicas started one after another with `options` (the first becomes the
    /// writer), ordered followers first.
    pub async fn replicas(
        placement: &Placement,
        count: usize,
        options: impl Fn() -> Options,
    ) -> Self {
        let mut replicas: Vec<Cifd> = (0..count)
            .map(|_| Cifd::start_with(placement.place(options())))
            .collect();
        replicas.rotate_left(1);
        let writer = replicas.last().expect("a replica");
        let admin = Box::new(writer.admin().await);
        Self::Replicas { replicas, admin }
    }

    pub fn baseline(placement: &Placement) -> Self {
        Self::Baseline(Baseline::start(placement))
    }

    /// The server's processes.
    fn pids(&self) -> Vec<u32> {
        match self {
            Self::Cifd(harness) => vec![harness.cifd.pid()],
            Self::Baseline(baseline) => vec![baseline.child.id()],
            Self::Replicas { replicas, .. } => replicas.iter().map(Cifd::pid).collect(),
        }
    }

    /// How many processes serve: connections should go to each.
    pub fn replica_count(&self) -> usize {
        self.pids().len()
    }

    /// The address of the server (the first replica's).
    pub fn endpoint(&self) -> String {
        match self {
            Self::Cifd(harness) => harness.cifd.endpoint(),
            Self::Baseline(baseline) => format!("http://{}", baseline.address),
            Self::Replicas { replicas, .. } => replicas[0].endpoint(),
        }
    }

    /// A new connection.
    pub async fn channel(&self) -> Channel {
        self.channel_to(0).await
    }

    /// A new connection to replica `n % replica_count()`.
    pub async fn channel_to(&self, n: usize) -> Channel {
        let endpoint = match self {
            Self::Cifd(harness) => harness.cifd.endpoint(),
            Self::Baseline(baseline) => format!("http://{}", baseline.address),
            Self::Replicas { replicas, .. } => replicas[n % replicas.len()].endpoint(),
        };
        cif_sdk::connect(endpoint).await.expect("connects")
    }

    /// The operator's client, for cifd.
    pub fn admin(&self) -> Option<&AdminClient> {
        match self {
            Self::Cifd(harness) => Some(&harness.admin),
            Self::Replicas { admin, .. } => Some(admin),
            Self::Baseline(_) => None,
        }
    }

    pub fn cifd_process(&mut self) -> Option<&mut Cifd> {
        match self {
            Self::Cifd(harness) => Some(&mut harness.cifd),
            Self::Baseline(_) | Self::Replicas { .. } => None,
        }
    }

    /// The metrics of the cifd that writes (empty for the baseline).
    pub fn writer_metrics(&self) -> String {
        match self {
            Self::Cifd(harness) => harness.cifd.scrape(),
            Self::Baseline(_) => String::new(),
            Self::Replicas { replicas, .. } => replicas
                .iter()
                .map(Cifd::scrape)
                .find(|metrics| metrics.lines().any(|line| line == "cif_replica_writer 1"))
                .unwrap_or_default(),
        }
    }

    /// CPU time the process has used (user and system), in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        self.pids().into_iter().map(cpu_seconds).sum()
    }

    /// Resident memory, in bytes.
    pub fn rss_bytes(&self) -> u64 {
        self.pids().into_iter().map(rss_bytes).sum()
    }
}

/// CPU time process `pid` has used (user and system), in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .expect("the server's /proc/<pid>/stat");
    // Fields after the command (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').expect("a command") + 2..]
        .split(' ')
        .collect();
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks of 1/100 s.
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    ticks / 100.0
}

/// Resident memory of process `pid`, in bytes.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("the server's /proc/<pid>/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .expect("VmRSS in kB")
        * 1024
}

/// cifd's options for the load: closed sessions forgotten after a second, so the servers do
/// not grow through the runs, and limits raised (call rates counted, but far above the load)
/// so nothing measures refusals.
pub fn cifd_options() -> Options {
    Options::default()
        .arg("--rate-limit")
        .arg("1000000000")
        .arg("--closed-session-retention")
        .arg("1s")
        .arg("--default-max-open-sessions")
        .arg("1000")
        .arg("--metrics-listen")
        .arg("127.0.0.1:0")
}

/// The calls refused, by the metrics.
pub fn refused(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|line| line.starts_with("cif_calls_total{") && !line.contains("code=\"OK\""))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|count| count as u64)
        .sum()
}

/// A sum or count from the metrics.
pub fn metric(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_default()
}
