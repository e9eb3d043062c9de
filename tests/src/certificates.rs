//! Test certificates made with the `openssl` command, as the README shows an operator: a CA,
//! server certificates it signs for `localhost`, 127.0.0.1 and ::1, and client certificates.
//! Each set lives in a temporary directory removed on drop.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A CA (its key and certificate), in a directory of its own.
pub struct TestCa {
    dir: PathBuf,
}

/// A certificate and its key, as PEM files.
pub struct Issued {
    pub certificate: PathBuf,
    pub key: PathBuf,
}

impl Issued {
    pub fn certificate_pem(&self) -> Vec<u8> {
        std::fs::read(&self.certificate).expect("the certificate")
    }

    pub fn key_pem(&self) -> Vec<u8> {
        std::fs::read(&self.key).expect("the key")
    }
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Self {
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cif-ca-{}-{}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory for the CA");
        openssl(
            &dir,
            &format!(
                "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
                 -subj /CN={name} -keyout ca.key -out ca.pem"
            ),
        );
        Self { dir }
    }

    /// The CA's certificate, PEM: what clients (or, for client certificates, the server)
    /// trust.
    pub fn certificate(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    pub fn certificate_pem(&self) -> Vec<u8> {
        std::fs::read(self.certificate()).expect("the CA's certificate")
    }

    /// A server certificate for `localhost`, 127.0.0.1 and ::1, named `name` in the CA's
    /// directory.
    pub fn server(&self, name: &str) -> Issued {
        self.issue(
            name,
            "localhost",
            "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
        )
    }

    /// A client certificate for `subject`.
    pub fn client(&self, name: &str, subject: &str) -> Issued {
        self.issue(name, subject, "extendedKeyUsage=clientAuth")
    }

    fn issue(&self, name: &str, subject: &str, extension: &str) -> Issued {
        let extensions = format!("{name}.ext");
        std::fs::write(self.dir.join(&extensions), format!("{extension}\n")).unwrap();
        openssl(
            &self.dir,
            &format!(
                "req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN={subject} \
                 -keyout {name}.key -out {name}.csr"
            ),
        );
        openssl(
            &self.dir,
            &format!(
                "x509 -req -in {name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
                 -extfile {extensions} -out {name}.pem"
            ),
        );
        Issued {
            certificate: self.dir.join(format!("{name}.pem")),
            key: self.dir.join(format!("{name}.key")),
        }
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `openssl` with `arguments` (split on spaces) in `dir`; panics with its output if it
/// fails.
fn openssl(dir: &Path, arguments: &str) {
    let output = Command::new("openssl")
        .args(arguments.split_whitespace())
        .current_dir(dir)
        .output()
        .expect("openssl runs (the README's test command installs it)");
    assert!(
        output.status.success(),
        "openssl {arguments}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
