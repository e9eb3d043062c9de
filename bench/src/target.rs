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

/// A server the load runs against: cifd (with its operator client) or the baseline.
pub enum Server {
    Cifd(Box<Harness>),
    Baseline(Baseline),
}

impl Server {
    pub async fn cifd(placement: &Placement, options: Options) -> Self {
        let options = Options {
            cpus: placement.server_cpus.clone(),
            ..options
        };
        Self::Cifd(Box::new(Harness::start_with(options).await))
    }

    pub fn baseline(placement: &Placement) -> Self {
        Self::Baseline(Baseline::start(placement))
    }

    pub fn pid(&self) -> u32 {
        match self {
            Self::Cifd(harness) => harness.cifd.pid(),
            Self::Baseline(baseline) => baseline.child.id(),
        }
    }

    pub fn address(&self) -> SocketAddr {
        match self {
            Self::Cifd(harness) => harness.cifd.address,
            Self::Baseline(baseline) => baseline.address,
        }
    }

    /// A new connection.
    pub async fn channel(&self) -> Channel {
        cif_sdk::connect(format!("http://{}", self.address()))
            .await
            .expect("connects")
    }

    /// The operator's client, for cifd.
    pub fn admin(&self) -> Option<&AdminClient> {
        match self {
            Self::Cifd(harness) => Some(&harness.admin),
            Self::Baseline(_) => None,
        }
    }

    pub fn cifd_process(&mut self) -> Option<&mut Cifd> {
        match self {
            Self::Cifd(harness) => Some(&mut harness.cifd),
            Self::Baseline(_) => None,
        }
    }

    /// CPU time the process has used (user and system), in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
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

    /// Resident memory, in bytes.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
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
}
