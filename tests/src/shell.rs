//! Runs the shell blocks of the documentation as tests: with bash, in a directory of its own,
//! for a bounded time, and with everything the script started stopped afterwards (its
//! background jobs too), whether it passed, failed or hung.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What a script did.
pub struct Ran {
    /// `None`: still running after the time it had (then stopped).
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Its output, to show when it failed.
    pub fn shown(&self) -> String {
        format!("--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr)
    }

    /// Fails the test unless the script ran to its end and succeeded.
    #[track_caller]
    pub fn assert_success(&self, what: &str) {
        match self.status {
            None => panic!("{what} still ran after the time it had\n{}", self.shown()),
            Some(status) => assert!(
                status.success(),
                "{what} failed ({status})\n{}",
                self.shown()
            ),
        }
    }
}

/// The shell and every process it started (one process group), killed when dropped.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

/// Runs `script` with `bash -c` in `dir` (which must exist) with `env` added, for `at_most`.
/// Its output goes to files in `dir`, so background jobs that keep it open cannot hold the
/// test up.
pub fn run_bash<K: AsRef<OsStr>, V: AsRef<OsStr>>(
    script: &str,
    dir: &Path,
    env: impl IntoIterator<Item = (K, V)>,
    at_most: Duration,
) -> Ran {
    let (stdout, stderr) = (dir.join(".stdout"), dir.join(".stderr"));
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .envs(env)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("an output file"))
        .stderr(std::fs::File::create(&stderr).expect("an output file"))
        .process_group(0);
    let mut group = Group(command.spawn().expect("bash runs"));
    let deadline = Instant::now() + at_most;
    let status = loop {
        if let Some(status) = group.0.try_wait().expect("waits") {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(group);
    Ran {
        status,
        stdout: std::fs::read_to_string(&stdout).unwrap_or_default(),
        stderr: std::fs::read_to_string(&stderr).unwrap_or_default(),
    }
}
