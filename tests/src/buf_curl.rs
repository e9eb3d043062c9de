//! `buf curl` over grpc-web, with the committed API image as its schema (reflection is a
//! bidirectional stream, which grpc-web cannot carry): unary calls, the errors it prints, and
//! server streams read message by message as they arrive.

use std::io::BufReader;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

use crate::{buf_binary, repository};

/// `buf curl` over grpc-web against one server.
pub struct BufCurl {
    /// The server's `host:port`.
    pub address: String,
    /// HTTP/2 without TLS (prior knowledge); else HTTP/1.1, as browsers speak to a server
    /// without TLS.
    pub http2: bool,
    /// A network namespace to run buf in (`ip netns exec`), else this one.
    pub netns: Option<String>,
}

impl BufCurl {
    fn command(&self, credential: &str, method: &str, body: &Value) -> Command {
        let mut command = match &self.netns {
            None => Command::new(buf_binary()),
            Some(netns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", netns]).arg(buf_binary());
                command
            }
        };
        command
            .args(["curl", "--protocol", "grpcweb", "--schema"])
            .arg(repository().join("api/cif.v1.binpb"))
            .args(["-H", &format!("authorization: Bearer {credential}")])
            .args(["-d", &body.to_string()]);
        if self.http2 {
            command.arg("--http2-prior-knowledge");
        }
        command.arg(format!("http://{}/{method}", self.address));
        command
    }

    /// A unary call: the answer, or the error buf curl printed.
    pub fn call(&self, credential: &str, method: &str, body: Value) -> Result<Value, Value> {
        let output = self
            .command(credential, method, &body)
            .output()
            .expect("buf runs");
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        if output.status.success() {
            Ok(serde_json::from_slice(&output.stdout)
                .unwrap_or_else(|_| panic!("JSON from buf curl: {}", text(&output.stdout))))
        } else {
            Err(serde_json::from_slice(&output.stderr)
                .unwrap_or_else(|_| panic!("an error from buf curl: {}", text(&output.stderr))))
        }
    }

    /// A server stream, its messages handed over as buf curl prints them.
    pub fn follow(&self, credential: &str, method: &str, body: Value) -> Following {
        let mut child = self
            .command(credential, method, &body)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("buf runs");
        let stdout = child.stdout.take().expect("piped");
        let (sender, messages) = mpsc::channel();
        std::thread::spawn(move || {
            for message in
                serde_json::Deserializer::from_reader(BufReader::new(stdout)).into_iter::<Value>()
            {
                let Ok(message) = message else { return };
                if sender.send(message).is_err() {
                    return;
                }
            }
        });
        Following { child, messages }
    }
}

pub struct Following {
    child: Child,
    messages: mpsc::Receiver<Value>,
}

impl Following {
    /// The next message that satisfies `wanted`, waiting at most `within` for it.
    pub fn until(&self, what: &str, within: Duration, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(message) if wanted(&message) => return message,
                Ok(_) => {}
                Err(_) => panic!("{what}: nothing within {within:?}"),
            }
        }
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The ErrorInfo reason inside an error buf curl printed.
pub fn error_reason(error: &Value) -> String {
    let details = error["details"].as_array().expect("details");
    let info = details
        .iter()
        .find(|detail| detail["type"] == "google.rpc.ErrorInfo")
        .expect("an ErrorInfo");
    let text = info["value"]
        .as_str()
        .expect("base64")
        .trim_end_matches('=');
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(text.replace('-', "+").replace('_', "/"))
        .expect("base64");
    let info = <tonic_types::pb::ErrorInfo as prost::Message>::decode(bytes.as_slice())
        .expect("an ErrorInfo");
    assert_eq!(info.domain, "cif.v1");
    info.reason
}
