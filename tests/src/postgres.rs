//! A throwaway PostgreSQL cluster per test, from the PostgreSQL binaries Debian installs
//! (`/usr/lib/postgresql/<version>/bin`; the test command installs the package).
//!
//! The server refuses to run as root, so when the tests run as root (containers, CI) every
//! PostgreSQL program runs as Debian's `postgres` system user through `runuser`.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A throwaway PostgreSQL cluster: initdb in a new temporary directory, started with pg_ctl
/// on a free loopback port, stopped (immediate) and removed on drop.
pub struct Postgres {
    bin: PathBuf,
    /// Holds the data directory, the log and the unix socket; mode 0700, because local
    /// (socket) connections are trusted.
    dir: PathBuf,
    /// `Some` user to run PostgreSQL's programs as, when we are root.
    run_as: Option<String>,
    port: u16,
    password: String,
    /// `taskset -c` CPUs the server's processes run on, or `None` for any.
    cpus: Option<String>,
}

impl Postgres {
    /// Starts one. Panics with what to do (run the README's test command, which installs
    /// Debian's postgresql) if PostgreSQL's binaries are missing.
    pub fn start() -> Postgres {
        Self::start_on(None)
    }

    /// Starts one whose processes run on `cpus` only (`taskset -c`, inherited by every
    /// backend the server forks), as a benchmark places its servers.
    pub fn start_on(cpus: Option<&str>) -> Postgres {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let bin = binaries();
        let run_as = is_root().then(|| "postgres".to_string());
        // Short name: the socket path (<dir>/.s.PGSQL.<port>) must fit in 107 bytes.
        let (pid, n) = (std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let dir = std::env::temp_dir().join(format!("cif-pg-{pid}-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        let created = std::fs::DirBuilder::new().mode(0o700).create(&dir);
        created.unwrap_or_else(|error| panic!("creating {}: {error}", dir.display()));
        // From here on, a panic drops `cluster`, which stops whatever started and removes dir.
        let mut cluster = Postgres {
            bin,
            dir,
            run_as,
            port: 0,
            password: random_password(),
            cpus: cpus.map(str::to_owned),
        };
        if let Some(user) = &cluster.run_as {
            let mut chown = Command::new("chown");
            chown.arg("-R").arg(format!("{user}:{user}"));
            let chowned = chown.arg(&cluster.dir).output();
            check(chowned, "chown to user postgres (Debian's package has it)");
        }
        let mut initdb = cluster.command("initdb");
        initdb.arg("-D").arg(cluster.dir.join("data"));
        // Local (socket) administration is trusted, TCP (what cifd uses) needs the password.
        // --no-sync: nothing to lose while initdb runs; the server keeps fsync on.
        let options = "-U postgres -E UTF8 --locale=C --no-sync --no-instructions";
        let auth = "--auth-local=trust --auth-host=scram-sha-256";
        initdb.args(options.split(' ').chain(auth.split(' ')));
        check(initdb.output(), "initdb");
        cluster.start_server();
        let create_role = format!("CREATE ROLE cifd LOGIN PASSWORD '{}'", cluster.password);
        cluster.sql("postgres", &create_role);
        cluster
    }

    /// Starts the server on a free port, trying another one when someone else took it
    /// between our probe and the server's bind.
    fn start_server(&mut self) {
        let log = self.dir.join("log");
        for _ in 0..5 {
            self.port = free_port();
            let _ = std::fs::remove_file(&log);
            let options = format!(
                "-p {} -k '{}' -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=100",
                self.port,
                self.dir.display()
            );
            let mut pg_ctl = self.pinned("pg_ctl");
            pg_ctl.arg("-D").arg(self.dir.join("data"));
            pg_ctl
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "-o", &options]);
            pg_ctl.arg("start");
            let started = pg_ctl.output().expect("pg_ctl runs");
            if started.status.success() {
                return;
            }
            let server_log = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = server_log.lines().collect();
            let tail = lines[lines.len().saturating_sub(30)..].join("\n");
            let stderr = String::from_utf8_lossy(&started.stderr);
            let status = started.status;
            assert!(
                server_log.contains("Address already in use"),
                "pg_ctl start failed ({status}): {stderr}\n--- server log (tail)\n{tail}"
            );
        }
        panic!("PostgreSQL found no free port in 5 tries");
    }

    /// A new, empty database named `name` owned by the `cifd` role, as a URL without the
    /// password: `postgres://cifd@127.0.0.1:<port>/<name>`.
    pub fn new_database(&self, name: &str) -> String {
        // Checked rather than escaped: test names only, and the URL needs no encoding then.
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
        let valid = (1..=63).contains(&name.len()) && name.bytes().all(allowed);
        assert!(valid, "database name {name:?}: 1 to 63 of a-z, 0-9 and _");
        let create = format!("CREATE DATABASE \"{name}\" OWNER cifd");
        self.sql("postgres", &create);
        format!("postgres://cifd@127.0.0.1:{}/{name}", self.port)
    }

    /// The `cifd` role's password (random per cluster), for the `CIF_STORE_PASSWORD` or
    /// `PGPASSWORD` environment variable: never put it in a URL on a command line.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs one SQL statement as the superuser on database `database` (for tests that need to
    /// look inside or to terminate a backend), returning psql's stdout (`-At` format: one row
    /// a line, columns separated by `|`) without its final newline.
    pub fn sql(&self, database: &str, statement: &str) -> String {
        let mut psql = self.command("psql");
        psql.arg("-h")
            .arg(&self.dir)
            .arg("-p")
            .arg(self.port.to_string());
        psql.args("-X -v ON_ERROR_STOP=1 -At -U postgres -d".split(' '));
        psql.arg(database);
        // On stdin rather than with -c, so no process list shows a statement (and the
        // password in CREATE ROLE).
        let (stdin, stdout, stderr) = (Stdio::piped(), Stdio::piped(), Stdio::piped());
        let child = psql.stdin(stdin).stdout(stdout).stderr(stderr).spawn();
        let mut child = child.expect("psql runs");
        let mut stdin = child.stdin.take().expect("psql's stdin");
        let written = stdin.write_all(statement.as_bytes());
        drop(stdin);
        let output = check(child.wait_with_output(), &format!("psql on {database}"));
        written.expect("writing to psql");
        let stdout = String::from_utf8_lossy(&output.stdout);
        stdout.strip_suffix('\n').unwrap_or(&stdout).to_string()
    }

    /// Runs `pgbench` with `script` (a custom script's text) on database `database` over
    /// TCP as the `cifd` role, as cifd connects, with `arguments` after it; returns its
    /// stdout. It runs where the caller runs (not on the server's CPUs), as a client does.
    pub fn pgbench(&self, database: &str, script: &str, arguments: &[&str]) -> String {
        static SCRIPTS: AtomicUsize = AtomicUsize::new(0);
        let file = self.dir.join(format!(
            "pgbench-{}.sql",
            SCRIPTS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&file, script).expect("writing the pgbench script");
        let mut pgbench = self.command("pgbench");
        pgbench.args([
            "-h",
            "127.0.0.1",
            "-U",
            "cifd",
            "-p",
            &self.port.to_string(),
        ]);
        pgbench.arg("-f").arg(&file).args(arguments).arg(database);
        pgbench.env("PGPASSWORD", &self.password);
        let output = check(pgbench.output(), "pgbench");
        let _ = std::fs::remove_file(&file);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `command`, on the cluster's CPUs when it has some.
    fn pinned(&self, program: &str) -> Command {
        self.command_on(program, self.cpus.as_deref())
    }

    /// One of PostgreSQL's programs, as the user that may run it, in the cluster's directory
    /// (as `postgres`, the caller's directory may be out of reach).
    fn command(&self, program: &str) -> Command {
        self.command_on(program, None)
    }

    fn command_on(&self, program: &str, cpus: Option<&str>) -> Command {
        let mut words: Vec<OsString> = Vec::new();
        if let Some(cpus) = cpus {
            words.extend(["taskset", "-c", cpus].map(OsString::from));
        }
        if let Some(user) = &self.run_as {
            words.extend(["runuser", "-u", user, "--"].map(OsString::from));
        }
        words.push(self.bin.join(program).into_os_string());
        let mut command = Command::new(&words[0]);
        command.args(&words[1..]).current_dir(&self.dir);
        command
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        if data.join("postmaster.pid").exists() {
            let mut stop = self.command("pg_ctl");
            stop.arg("-D")
                .arg(&data)
                .args("stop -m immediate -w".split(' '));
            let _ = stop.stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has initdb.
fn binaries() -> PathBuf {
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .max();
    match newest {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL's binaries are missing (no /usr/lib/postgresql/*/bin/initdb): run the \
             test command of the README (tests/run-all.sh, which installs Debian's postgresql \
             as root) or apt-get install postgresql"
        ),
    }
}

/// Whether we run as root (effective uid 0), read from /proc to need no libc.
fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status.lines().find_map(|line| line.strip_prefix("Uid:"));
    uid.and_then(|ids| ids.split_whitespace().nth(1)) == Some("0")
}

/// A port nothing listens on now (the server may still lose it to a race: see start_server).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    listener.local_addr().expect("a bound address").port()
}

/// 24 alphanumerics from /dev/urandom: only ever compared by the server, and needs no quoting.
fn random_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut urandom = std::fs::File::open("/dev/urandom").expect("/dev/urandom");
    let mut password = String::new();
    let mut byte = [0u8];
    while password.len() < 24 {
        urandom.read_exact(&mut byte).expect("reading /dev/urandom");
        // Below 248 (4 × 62) so that every character is equally likely.
        if byte[0] < 248 {
            password.push(ALPHABET[usize::from(byte[0]) % ALPHABET.len()] as char);
        }
    }
    password
}

/// The output of a command that must have succeeded.
#[track_caller]
fn check(output: std::io::Result<Output>, what: &str) -> Output {
    let output = output.unwrap_or_else(|error| panic!("{what}: {error}"));
    assert!(
        output.status.success(),
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    /// psql as `cifd` over TCP with `password`: whether `SELECT 1` ran.
    fn cifd_select_1(cluster: &Postgres, database: &str, password: &str) -> bool {
        let mut psql = Command::new(cluster.bin.join("psql"));
        psql.args(["-h", "127.0.0.1", "-p", &cluster.port().to_string()]);
        // -w: never prompt for a password, fail instead.
        psql.args([
            "-U", "cifd", "-d", database, "-X", "-w", "-At", "-c", "SELECT 1",
        ]);
        psql.env("PGPASSWORD", password).stdin(Stdio::null());
        let output = psql.output().expect("psql runs");
        output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == "1"
    }

    #[test]
    fn a_cluster_serves_a_database_to_cifd_with_its_password_only() {
        let cluster = Postgres::start();
        let url = cluster.new_database("e2e_one");
        let expected = format!("postgres://cifd@127.0.0.1:{}/e2e_one", cluster.port());
        assert_eq!(url, expected);
        assert_eq!(cluster.sql("e2e_one", "SELECT current_user"), "postgres");
        let owner = "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'e2e_one'";
        assert_eq!(cluster.sql("postgres", owner), "cifd");
        assert_eq!(cluster.password().len(), 24);
        assert!(cifd_select_1(&cluster, "e2e_one", cluster.password()));
        assert!(!cifd_select_1(&cluster, "e2e_one", "not-the-password"));

        let dir = cluster.dir.clone();
        drop(cluster);
        assert!(!dir.exists(), "{} is left behind", dir.display());
    }
}
