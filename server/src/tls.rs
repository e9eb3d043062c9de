//! TLS on cifd's one port: gRPC, grpc-web and the desk page, HTTP/2 or HTTP/1.1 as ALPN
//! chooses. The certificate and key are files, read again when they change: a renewed
//! certificate serves new connections while open ones, and their streams, go on. With a
//! client CA, every client must present a certificate that CA signed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// How often the certificate's files are looked at.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Where the server's TLS material is.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain, PEM, the server's own certificate first.
    pub certificate: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
    /// CAs whose client certificates are accepted, PEM; none: clients present none.
    pub client_ca: Option<PathBuf>,
}

/// Serving TLS: the acceptor for connections, what recognises the other replicas, and what
/// keeps the certificate current.
pub struct Tls {
    pub acceptor: TlsAcceptor,
    pub replicas: Option<Replicas>,
    /// How this replica reaches a writer that serves TLS, with `peer_ca`.
    pub peer_client: Option<PeerClient>,
    reloading: Reloading,
}

impl Tls {
    /// Reads the files; says which one is wrong, and how, when one is. With `peer_ca` (the
    /// CAs of the replicas' certificates), clients may present a certificate it signed and are
    /// then recognised as replicas.
    pub fn configure(files: TlsFiles, peer_ca: Option<&Path>) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let current = Arc::new(Current(RwLock::new(Arc::new(certified_key(
            &files, &provider,
        )?))));
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| format!("TLS cannot be set up: {error}"))?;
        let replicas = peer_ca
            .map(|path| {
                let roots = Arc::new(roots(&[path])?);
                let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|error| format!("{}: {error}", path.display()))?;
                Ok::<_, String>(Replicas(verifier))
            })
            .transpose()?;
        // Client certificates: required when there is a client CA (a replica's CA is trusted
        // as well); asked for but optional when only replicas present them.
        let client_roots: Vec<&Path> = files
            .client_ca
            .as_deref()
            .into_iter()
            .chain(peer_ca)
            .collect();
        let builder = if client_roots.is_empty() {
            builder.with_no_client_auth()
        } else {
            let verifier = WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots(&client_roots)?),
                provider.clone(),
            );
            let verifier = if files.client_ca.is_none() {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|error| format!("the client CAs cannot be used: {error}"))?;
            builder.with_client_cert_verifier(verifier)
        };
        let mut config = builder.with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let stamps = stamps(&files);
        let peer_client = peer_ca
            .map(|path| {
                let config = peer_config(path, &files)?;
                Ok::<_, String>((
                    path.to_owned(),
                    PeerClient(Arc::new(RwLock::new((0, config)))),
                ))
            })
            .transpose()?;
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            replicas,
            peer_client: peer_client.as_ref().map(|(_, client)| client.clone()),
            reloading: Reloading {
                files,
                provider,
                current,
                stamps,
                peer_client,
            },
        })
    }

    /// Looks at the certificate and key files every second and serves them again once either
    /// changed; a pair that cannot be read (half-written, or not matching) is logged and the
    /// one served stays. Runs until the server stops.
    pub fn keep_current(&self) -> tokio::task::JoinHandle<()> {
        let mut reloading = self.reloading.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(LOOK_EVERY).await;
                reloading.look();
            }
        })
    }
}

/// Recognises the other replicas by their client certificates: the calls a follower forwards
/// come from its one address, and must not count as that address's.
#[derive(Clone)]
pub struct Replicas(Arc<dyn ClientCertVerifier>);

impl Replicas {
    /// Whether the certificates a client presented (its own first) were signed by a
    /// replicas' CA.
    pub fn recognise(&self, presented: Option<&[CertificateDer<'_>]>) -> bool {
        let Some((own, intermediates)) = presented.and_then(<[_]>::split_first) else {
            return false;
        };
        self.0
            .verify_client_cert(own, intermediates, UnixTime::now())
            .is_ok()
    }
}

/// The CAs of PEM files, as roots.
fn roots(paths: &[&Path]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for path in paths {
        for certificate in certificates(path)? {
            roots.add(certificate).map_err(|error| {
                format!(
                    "{}: a CA certificate cannot be used: {error}",
                    path.display()
                )
            })?;
        }
    }
    Ok(roots)
}

/// How a follower reaches a writer that serves TLS: trusting the CAs of the replicas'
/// certificates, the writer's name checked against its certificate, and presenting this
/// replica's own certificate, for a writer that asks for client certificates. Kept current as
/// the certificate renews: each renewal counts a new generation, and connections to the
/// writer are made again with it.
#[derive(Clone)]
pub struct PeerClient(Arc<RwLock<(u64, tonic::transport::ClientTlsConfig)>>);

impl PeerClient {
    /// The client settings now, and their generation.
    pub fn current(&self) -> (u64, tonic::transport::ClientTlsConfig) {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn renew(&self, config: tonic::transport::ClientTlsConfig) {
        let mut current = self.0.write().unwrap_or_else(PoisonError::into_inner);
        *current = (current.0 + 1, config);
    }
}

/// The client settings for reaching the writer, from the CAs in `peer_ca` (PEM) and this
/// replica's own certificate and key.
fn peer_config(
    peer_ca: &Path,
    own: &TlsFiles,
) -> Result<tonic::transport::ClientTlsConfig, String> {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    let read = |path: &Path| {
        std::fs::read(path).map_err(|error| format!("{}: cannot be read: {error}", path.display()))
    };
    Ok(ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read(peer_ca)?))
        .identity(Identity::from_pem(read(&own.certificate)?, read(&own.key)?)))
}

/// The certificate served now; each new connection asks for it.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.0
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

#[derive(Clone)]
struct Reloading {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: Arc<Current>,
    /// The files' modification times when last read.
    stamps: [Option<SystemTime>; 2],
    /// The replicas' CAs, and the client settings to renew with the certificate.
    peer_client: Option<(PathBuf, PeerClient)>,
}

impl Reloading {
    fn look(&mut self) {
        let now = stamps(&self.files);
        if now == self.stamps {
            return;
        }
        self.stamps = now;
        match certified_key(&self.files, &self.provider) {
            Ok(key) => {
                *self
                    .current
                    .0
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
                tracing::info!(
                    certificate = %self.files.certificate.display(),
                    "serving the new TLS certificate to new connections"
                );
                if let Some((peer_ca, client)) = &self.peer_client {
                    match peer_config(peer_ca, &self.files) {
                        Ok(config) => client.renew(config),
                        Err(error) => {
                            tracing::warn!(%error, "the new certificate cannot be presented to the writer; still presenting the previous one")
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "the TLS certificate changed but cannot be used; still serving the previous one");
            }
        }
    }
}

fn stamps(files: &TlsFiles) -> [Option<SystemTime>; 2] {
    [&files.certificate, &files.key].map(|path| {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok()
    })
}

/// The certificate chain and key, checked to belong together.
fn certified_key(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let chain = certificates(&files.certificate)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|error| {
        format!(
            "{}: no private key in PEM (BEGIN PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY): {error}",
            files.key.display()
        )
    })?;
    let key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|error| format!("{}: the key cannot be used: {error}", files.key.display()))?;
    let certified = CertifiedKey::new(chain, key);
    certified.keys_match().map_err(|error| {
        format!(
            "{} and {} do not belong together: {error}",
            files.certificate.display(),
            files.key.display()
        )
    })?;
    Ok(certified)
}

/// Every certificate of a PEM file; at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let unreadable = |error| format!("{}: not a PEM certificate file: {error}", path.display());
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(unreadable)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    if chain.is_empty() {
        return Err(format!(
            "{}: holds no certificate (BEGIN CERTIFICATE)",
            path.display()
        ));
    }
    Ok(chain)
}
