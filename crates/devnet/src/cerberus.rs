//! A stand-in for Cerberus, Layr-Labs' remote BLS signer, speaking its published gRPC API: what
//! `mach devnet up --remote-bls-operator` keeps one operator's BLS key in, and what the tests and
//! `mach bench bls-signer` sign through. It is not a signer for production: the key sits in this
//! process's memory, unencrypted, and one API key guards it.
//!
//! It serves, for the one key it holds:
//! - `signer.v1.Signer`: `SignGeneric` signs like Cerberus (`sk · MapToCurve(data padded to 32
//!   bytes)`, the signature returned as X ++ Y) and `SignG1` multiplies a raw G1 point by the key.
//! - `keymanager.v1.KeyManager`: `ListKeys` and `GetKeyMetadata`, naming the key by its
//!   compressed G1 hex (`public_key_g1`) and giving its compressed G2 hex (`public_key_g2`), both
//!   in gnark-crypto's encoding as Cerberus reports them.
//!
//! Every call needs the API key in the `authorization` metadata, as Cerberus's auth interceptor
//! wants it (`UNAUTHENTICATED` otherwise). A key name other than the one it answers to is
//! `INTERNAL` for signing (Cerberus's "no such file" from its keystore directory) and `NOT_FOUND`
//! for the key manager.
//!
//! Its [`Behaviour`] can be changed while it runs (sign with another key than the one it answers
//! to, require another API key, answer slowly), and it can be stopped and restarted on the same
//! port, so that tests can play an unfaithful, slow or absent signer.

use alloy::primitives::{B256, U256};
use anyhow::{Context, Result};
use mach_keys::{BlsSecretKey, G1PublicKey};
use mach_node::cerberus::proto::keymanager::key_manager_server::{KeyManager, KeyManagerServer};
use mach_node::cerberus::proto::keymanager::{
    GetKeyMetadataRequest, GetKeyMetadataResponse, ListKeysRequest, ListKeysResponse, PublicKey,
};
use mach_node::cerberus::proto::signer::signer_server::{Signer, SignerServer};
use mach_node::cerberus::proto::signer::{
    SignG1Request, SignG1Response, SignGenericRequest, SignGenericResponse,
};
use mach_node::cerberus::tonic::transport::server::TcpIncoming;
use mach_node::cerberus::tonic::transport::{Identity, Server, ServerTlsConfig};
use mach_node::cerberus::tonic::{self, Request, Response, Status};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// What the server does; changeable while it runs (`server.behaviour.lock()`).
pub struct Behaviour {
    /// The key it signs with.
    pub key: BlsSecretKey,
    /// The key name (compressed G1 hex, no `0x`) it answers to.
    pub name: String,
    /// The API key it requires.
    pub api_key: String,
    /// How long it waits before answering a signing request.
    pub delay: Duration,
}

/// A running stand-in for Cerberus; stopped when dropped.
pub struct CerberusServer {
    /// Its address.
    pub addr: SocketAddr,
    /// `http://addr`, or `https://localhost:port` when it serves TLS.
    pub url: String,
    /// What it does.
    pub behaviour: Arc<Mutex<Behaviour>>,
    /// Signatures made (`SignGeneric` and `SignG1`).
    pub signed: Arc<AtomicUsize>,
    tls: Option<Identity>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    ended: watch::Receiver<bool>,
}

impl std::fmt::Debug for CerberusServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CerberusServer")
            .field("url", &self.url)
            .field("signed", &self.signed.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

/// Cerberus's name of a key: hex of gnark-crypto's compressed G1 point, without `0x`.
pub fn name_of(key: &G1PublicKey) -> String {
    mach_node::cerberus::hex_g1(key)
}

fn lock(behaviour: &Mutex<Behaviour>) -> MutexGuard<'_, Behaviour> {
    behaviour.lock().unwrap_or_else(|e| e.into_inner())
}

/// What both services share.
#[derive(Clone)]
struct Service {
    behaviour: Arc<Mutex<Behaviour>>,
    signed: Arc<AtomicUsize>,
}

impl Service {
    /// The API key check of Cerberus's interceptor.
    fn authenticate<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let token = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("missing authorization header"))?;
        if token.to_str().ok() != Some(lock(&self.behaviour).api_key.as_str()) {
            return Err(Status::unauthenticated("invalid token"));
        }
        Ok(())
    }

    /// Whether `public_key_g1` (with or without `0x`) names the key it holds.
    fn holds(&self, public_key_g1: &str) -> bool {
        public_key_g1.trim_start_matches("0x") == lock(&self.behaviour).name
    }

    /// Authenticates a signing request for `public_key_g1`.
    fn authorize_signing<T>(
        &self,
        request: &Request<T>,
        public_key_g1: &str,
    ) -> Result<(), Status> {
        self.authenticate(request)?;
        if !self.holds(public_key_g1) {
            return Err(Status::internal(format!(
                "open {public_key_g1}.json: no such file or directory"
            )));
        }
        Ok(())
    }

    async fn pause(&self) {
        let delay = lock(&self.behaviour).delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    /// The key it holds, as the key manager lists it.
    fn public_key(&self) -> PublicKey {
        let behaviour = lock(&self.behaviour);
        PublicKey {
            public_key_g1: behaviour.name.clone(),
            public_key_g2: alloy::hex::encode(behaviour.key.public_key_g2().to_compressed()),
        }
    }
}

#[tonic::async_trait]
impl Signer for Service {
    async fn sign_generic(
        &self,
        request: Request<SignGenericRequest>,
    ) -> Result<Response<SignGenericResponse>, Status> {
        self.authorize_signing(&request, &request.get_ref().public_key_g1)?;
        let data = &request.get_ref().data;
        if data.len() > 32 {
            return Err(Status::invalid_argument(
                "data is too long, must be 32 bytes",
            ));
        }
        self.pause().await;
        let mut hash = [0u8; 32];
        hash[..data.len()].copy_from_slice(data);
        let signature = lock(&self.behaviour).key.sign(&B256::from(hash));
        self.signed.fetch_add(1, Ordering::SeqCst);
        Ok(Response::new(SignGenericResponse {
            signature: signature.to_bytes().to_vec(),
        }))
    }

    async fn sign_g1(
        &self,
        request: Request<SignG1Request>,
    ) -> Result<Response<SignG1Response>, Status> {
        self.authorize_signing(&request, &request.get_ref().public_key_g1)?;
        let data = &request.get_ref().data;
        if data.len() != 64 {
            return Err(Status::invalid_argument("expected a raw G1 point"));
        }
        self.pause().await;
        let (x, y) = (
            U256::from_be_slice(&data[..32]),
            U256::from_be_slice(&data[32..]),
        );
        let signature = lock(&self.behaviour)
            .key
            .sign_g1_point(x, y)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        self.signed.fetch_add(1, Ordering::SeqCst);
        Ok(Response::new(SignG1Response {
            signature: signature.to_bytes().to_vec(),
        }))
    }
}

#[tonic::async_trait]
impl KeyManager for Service {
    async fn list_keys(
        &self,
        request: Request<ListKeysRequest>,
    ) -> Result<Response<ListKeysResponse>, Status> {
        self.authenticate(&request)?;
        Ok(Response::new(ListKeysResponse {
            public_keys: vec![self.public_key()],
        }))
    }

    async fn get_key_metadata(
        &self,
        request: Request<GetKeyMetadataRequest>,
    ) -> Result<Response<GetKeyMetadataResponse>, Status> {
        self.authenticate(&request)?;
        let asked = &request.get_ref().public_key_g1;
        if !self.holds(asked) {
            return Err(Status::not_found(format!("key not found: {asked}")));
        }
        let key = self.public_key();
        let now = mach_runtime::now_ms() as i64 / 1000;
        Ok(Response::new(GetKeyMetadataResponse {
            public_key_g1: key.public_key_g1,
            public_key_g2: key.public_key_g2,
            created_at: now,
            updated_at: now,
        }))
    }
}

impl CerberusServer {
    /// Serves `key` on `addr` (port 0 for any free one), answering to the key's own name and
    /// requiring `api_key`; over TLS with `tls` (its certificate must name `localhost`, which
    /// the URL then names). Must be called inside a tokio runtime.
    pub async fn serve(
        addr: SocketAddr,
        key: BlsSecretKey,
        api_key: &str,
        tls: Option<Identity>,
    ) -> Result<Self> {
        let behaviour = Behaviour {
            name: name_of(&key.public_key()),
            key,
            api_key: api_key.to_string(),
            delay: Duration::ZERO,
        };
        Self::listen(
            addr,
            Arc::new(Mutex::new(behaviour)),
            Arc::new(AtomicUsize::new(0)),
            tls,
        )
        .await
    }

    /// [`Self::serve`] on a free port of 127.0.0.1, in plain HTTP/2.
    ///
    /// # Panics
    /// If no port can be bound: for tests and benchmarks, where that ends the run anyway.
    #[allow(clippy::expect_used)]
    pub async fn start(key: BlsSecretKey, api_key: &str) -> Self {
        Self::serve(local_any(), key, api_key, None)
            .await
            .expect("the Cerberus stand-in starts on 127.0.0.1")
    }

    /// [`Self::start`] over TLS with this certificate and key (PEM); its URL is
    /// `https://localhost:…`.
    ///
    /// # Panics
    /// If no port can be bound or the certificate is unusable.
    #[allow(clippy::expect_used)]
    pub async fn start_tls(key: BlsSecretKey, api_key: &str, cert: &[u8], tls_key: &[u8]) -> Self {
        let identity = Identity::from_pem(cert, tls_key);
        Self::serve(local_any(), key, api_key, Some(identity))
            .await
            .expect("the Cerberus stand-in starts over TLS on 127.0.0.1")
    }

    async fn listen(
        addr: SocketAddr,
        behaviour: Arc<Mutex<Behaviour>>,
        signed: Arc<AtomicUsize>,
        tls: Option<Identity>,
    ) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("the Cerberus stand-in cannot listen on {addr}"))?;
        let addr = listener.local_addr()?;
        let mut builder = Server::builder();
        if let Some(identity) = &tls {
            // tonic's TLS server uses rustls's process-wide provider; ring is the one the
            // workspace builds tonic with.
            let _ = rustls::crypto::ring::default_provider().install_default();
            builder = builder
                .tls_config(ServerTlsConfig::new().identity(identity.clone()))
                .context("the Cerberus stand-in's TLS certificate")?;
        }
        let service = Service {
            behaviour: behaviour.clone(),
            signed: signed.clone(),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let (ended_tx, ended) = watch::channel(false);
        let task = tokio::spawn(async move {
            let served = builder
                .add_service(SignerServer::new(service.clone()))
                .add_service(KeyManagerServer::new(service))
                .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(%addr, error = %e, "the Cerberus stand-in stopped");
            }
            let _ = ended_tx.send(true);
        });
        let url = match tls {
            Some(_) => format!("https://localhost:{}", addr.port()),
            None => format!("http://{addr}"),
        };
        Ok(Self {
            addr,
            url,
            behaviour,
            signed,
            tls,
            stop: Some(stop),
            task: Some(task),
            ended,
        })
    }

    /// Stops serving (waiting up to 10 s for open connections to close); [`Self::restart`]
    /// serves again on the same port.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .is_err()
            {
                tracing::warn!(addr = %self.addr, "the Cerberus stand-in did not stop within 10 s");
            }
        }
    }

    /// Serves again on the same address, with the same behaviour, counter and TLS identity.
    ///
    /// # Panics
    /// If the port cannot be bound again.
    #[allow(clippy::expect_used)]
    pub async fn restart(&mut self) {
        self.stop().await;
        let again = Self::listen(
            self.addr,
            self.behaviour.clone(),
            self.signed.clone(),
            self.tls.clone(),
        )
        .await
        .expect("the Cerberus stand-in restarts on its port");
        *self = again;
    }

    /// Resolves when the server stops serving, by [`Self::stop`] or because it failed: a devnet
    /// runs it as a critical task.
    pub fn ended(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut ended = self.ended.clone();
        async move {
            let _ = ended.wait_for(|ended| *ended).await;
        }
    }
}

fn local_any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

impl Drop for CerberusServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mach_node::cerberus::proto::keymanager::key_manager_client::KeyManagerClient;
    use mach_node::cerberus::proto::signer::signer_client::SignerClient;
    use mach_node::cerberus::tonic::Code;

    fn with_key<T>(message: T, api_key: &str) -> Request<T> {
        let mut request = Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", api_key.parse().unwrap());
        request
    }

    #[tokio::test]
    async fn the_key_manager_lists_the_key_with_gnark_s_g2_encoding() {
        let key = BlsSecretKey::random();
        let server = CerberusServer::start(key.clone(), "k").await;
        let mut client = KeyManagerClient::connect(server.url.clone()).await.unwrap();
        let name = name_of(&key.public_key());

        let listed = client
            .list_keys(with_key(ListKeysRequest {}, "k"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.public_keys.len(), 1);
        assert_eq!(listed.public_keys[0].public_key_g1, name);
        let g2 = alloy::hex::decode(&listed.public_keys[0].public_key_g2).unwrap();
        assert_eq!(
            mach_keys::G2PublicKey::from_compressed(&g2).unwrap(),
            key.public_key_g2()
        );

        let metadata = client
            .get_key_metadata(with_key(
                GetKeyMetadataRequest {
                    public_key_g1: format!("0x{name}"),
                },
                "k",
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(metadata.public_key_g1, name);
        assert_eq!(metadata.public_key_g2, listed.public_keys[0].public_key_g2);
        assert!(metadata.created_at > 0);

        let other = name_of(&BlsSecretKey::random().public_key());
        let unknown = client
            .get_key_metadata(with_key(
                GetKeyMetadataRequest {
                    public_key_g1: other,
                },
                "k",
            ))
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), Code::NotFound);
        let refused = client
            .list_keys(with_key(ListKeysRequest {}, "wrong"))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated);
        let refused = client
            .get_key_metadata(Request::new(GetKeyMetadataRequest {
                public_key_g1: name,
            }))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated);
    }

    #[tokio::test]
    async fn signs_counts_and_serves_again_after_a_restart() {
        let key = BlsSecretKey::random();
        let mut server = CerberusServer::start(key.clone(), "k").await;
        let name = name_of(&key.public_key());
        let hash = B256::repeat_byte(7);
        let sign = |url: String, name: String| async move {
            let mut client = SignerClient::connect(url).await?;
            let reply = client
                .sign_generic(with_key(
                    SignGenericRequest {
                        public_key_g1: name,
                        data: hash.to_vec(),
                        password: String::new(),
                    },
                    "k",
                ))
                .await?;
            Ok::<_, Box<dyn std::error::Error>>(reply.into_inner().signature)
        };
        let signature = sign(server.url.clone(), name.clone()).await.unwrap();
        assert_eq!(signature, key.sign(&hash).to_bytes().to_vec());
        assert_eq!(server.signed.load(Ordering::SeqCst), 1);

        let (url, addr) = (server.url.clone(), server.addr);
        let ended = server.ended();
        server.stop().await;
        tokio::time::timeout(Duration::from_secs(5), ended)
            .await
            .expect("ended resolves once stopped");
        assert!(sign(url.clone(), name.clone()).await.is_err());
        server.restart().await;
        assert_eq!((server.url.clone(), server.addr), (url.clone(), addr));
        sign(url, name).await.unwrap();
        assert_eq!(server.signed.load(Ordering::SeqCst), 2);
    }
}
