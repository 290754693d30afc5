//! The local AWS for tests: a moto server of our own on 127.0.0.1, on a free port,
//! stopped when the test ends. `scripts/emulator install` puts moto in .venv/moto;
//! `scripts/moto_server.py` starts it with the corrections listed in docs/emulator-gaps.md.

use super::project_root;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::Credentials;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static INSTALL: Mutex<bool> = Mutex::new(false);

/// The state buckets `environments/*.yaml` and the minimal example name.
pub const STATE_BUCKETS: [&str; 3] = [
    "bandup-state-dev",
    "bandup-state-prod",
    "bandup-state-sandbox",
];

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

/// The virtualenv's Python, which runs scripts/moto_server.py (moto with corrections).
fn ensure_installed() -> std::path::PathBuf {
    let bin = project_root().join(".venv/moto/bin/python");
    let mut done = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if !*done {
        let status = Command::new(project_root().join("scripts/emulator"))
            .arg("install")
            .status()
            .expect("run scripts/emulator install");
        assert!(status.success(), "scripts/emulator install failed");
        *done = true;
    }
    bin
}

impl Moto {
    pub fn start() -> Moto {
        let moto = Moto::start_bare();
        moto.bootstrap_account();
        moto
    }

    /// A server for an account nobody bootstrapped (see `bootstrap_account`).
    pub fn start_bare() -> Moto {
        let bin = ensure_installed();
        // The server binds a port the system chooses and writes it to this file: a port
        // chosen here and handed over could be chosen by a test starting alongside, and
        // both would then talk to one server.
        let dir = tempfile::tempdir().expect("temp dir");
        let port_file = dir.path().join("port");
        let child = Command::new(bin)
            .arg(project_root().join("scripts/moto_server.py"))
            .args(["-H", "127.0.0.1", "--port-file"])
            .arg(&port_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        // Owned from here on: dropped (killed) however this function ends, so a server
        // that never answers is not left running.
        let mut moto = Moto {
            child,
            endpoint: String::new(),
        };
        let started = Instant::now();
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse::<u16>().ok())
            {
                break port;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited before listening: {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        moto.endpoint = format!("http://127.0.0.1:{port}");
        moto
    }

    /// SDK configuration pointing at this server with dummy credentials.
    pub async fn sdk(&self) -> SdkConfig {
        sdk_at(&self.endpoint).await
    }

    /// Empty the emulator (every service, every region), then bootstrap it again.
    pub fn reset(&self) {
        let answer = self.raw(
            "POST /moto-api/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        assert!(answer.starts_with("HTTP/1.1 200"), "moto reset: {answer}");
        self.bootstrap_account();
    }

    /// Set what `bootstrap` sets once per account and region before any stack: API
    /// Gateway's CloudWatch Logs role, which stage access logs need and no stack owns.
    /// `start` and `reset` do it, so the emulator is an account that was bootstrapped;
    /// `start_bare` leaves it out.
    pub fn bootstrap_account(&self) {
        let body = r#"{"patchOperations":[{"op":"replace","path":"/cloudwatchRoleArn","value":"arn:aws:iam::123456789012:role/apigateway-cloudwatch-logs"}]}"#;
        for region in ["eu-west-2", "eu-west-1", "us-east-1"] {
            let answer = self.raw(&format!(
                "PATCH /account HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
                 Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/apigateway/aws4_request, SignedHeaders=host, Signature=0\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ));
            assert!(
                answer.starts_with("HTTP/1.1 200"),
                "bootstrap {region}: {answer}"
            );
        }
        // The state buckets the environment files name, as `bootstrap` makes them.
        for bucket in STATE_BUCKETS {
            self.create_bucket(bucket);
        }
    }

    /// Create an empty bucket in eu-west-2.
    pub fn create_bucket(&self, bucket: &str) {
        let body = "<CreateBucketConfiguration><LocationConstraint>eu-west-2</LocationConstraint></CreateBucketConfiguration>";
        let answer = self.raw(&format!(
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/eu-west-2/s3/aws4_request, SignedHeaders=host, Signature=0\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "create bucket {bucket}: {answer}"
        );
    }

    /// Send one raw HTTP request to the emulator and read the whole answer.
    fn raw(&self, request: &str) -> String {
        use std::io::{Read, Write};
        let port = self.endpoint.rsplit(':').next().unwrap_or_default();
        let mut s = TcpStream::connect(("127.0.0.1", port.parse::<u16>().expect("port")))
            .expect("connect to moto");
        s.write_all(request.as_bytes()).expect("send to moto");
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer
    }

    /// Environment for running the real binary against this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

/// SDK configuration for `endpoint` (the emulator, or a proxy in front of it) with dummy
/// credentials and short backoffs, so retried faults do not make tests slow.
pub async fn sdk_at(endpoint: &str) -> SdkConfig {
    use aws_config::retry::RetryConfig;
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-2"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(50)))
        .load()
        .await
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
