//! A signer speaking Cerberus's published gRPC API (`signer.v1.Signer`), for tests only: it holds
//! a `BlsSecretKey`, answers to one key name, checks the API key like Cerberus's auth
//! interceptor (`authorization` metadata, `UNAUTHENTICATED` otherwise) and signs like
//! Cerberus (`sk · MapToCurve(data padded to 32 bytes)`, returned as X ++ Y). It can be made to
//! sign with another key than the one it answers to, to be slow, and be stopped and restarted
//! on the same port. Shared by `mach-node`'s tests and `bin/mach`'s (included by path).

use alloy::primitives::{B256, U256};
use mach_keys::{BlsSecretKey, G1PublicKey};
use mach_node::cerberus::proto::signer::signer_server::{Signer, SignerServer};
use mach_node::cerberus::proto::signer::{
    SignG1Request, SignG1Response, SignGenericRequest, SignGenericResponse,
};
use mach_node::cerberus::tonic::transport::server::TcpIncoming;
use mach_node::cerberus::tonic::transport::{Identity, Server, ServerTlsConfig};
use mach_node::cerberus::tonic::{self, Request, Response, Status};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the signer does; changeable while it runs.
pub struct Behaviour {
    /// The key it signs with.
    pub key: BlsSecretKey,
    /// The key name (compressed G1 hex) it answers to.
    pub name: String,
    /// The API key it requires.
    pub api_key: String,
    /// How long it waits before answering.
    pub delay: Duration,
}

/// A running test signer; stopped when dropped.
pub struct TestSigner {
    /// Its address.
    pub addr: SocketAddr,
    /// `http://addr`.
    pub url: String,
    /// What it does.
    pub behaviour: Arc<Mutex<Behaviour>>,
    /// Signatures made.
    pub signed: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

struct Service {
    behaviour: Arc<Mutex<Behaviour>>,
    signed: Arc<AtomicUsize>,
}

impl Service {
    fn authorize<T>(&self, request: &Request<T>, public_key_g1: &str) -> Result<(), Status> {
        let behaviour = self.behaviour.lock().unwrap();
        let token = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("missing authorization header"))?;
        if token.to_str().ok() != Some(behaviour.api_key.as_str()) {
            return Err(Status::unauthenticated("invalid token"));
        }
        if public_key_g1.trim_start_matches("0x") != behaviour.name {
            return Err(Status::internal(format!(
                "open {public_key_g1}.json: no such file or directory"
            )));
        }
        Ok(())
    }

    async fn pause(&self) {
        let delay = self.behaviour.lock().unwrap().delay;
        tokio::time::sleep(delay).await;
    }
}

#[tonic::async_trait]
impl Signer for Service {
    async fn sign_generic(
        &self,
        request: Request<SignGenericRequest>,
    ) -> Result<Response<SignGenericResponse>, Status> {
        self.authorize(&request, &request.get_ref().public_key_g1)?;
        let data = &request.get_ref().data;
        if data.len() > 32 {
            return Err(Status::invalid_argument(
                "data is too long, must be 32 bytes",
            ));
        }
        self.pause().await;
        let mut hash = [0u8; 32];
        hash[..data.len()].copy_from_slice(data);
        let signature = self.behaviour.lock().unwrap().key.sign(&B256::from(hash));
        self.signed.fetch_add(1, Ordering::SeqCst);
        Ok(Response::new(SignGenericResponse {
            signature: signature.to_bytes().to_vec(),
        }))
    }

    async fn sign_g1(
        &self,
        request: Request<SignG1Request>,
    ) -> Result<Response<SignG1Response>, Status> {
        self.authorize(&request, &request.get_ref().public_key_g1)?;
        let data = &request.get_ref().data;
        if data.len() != 64 {
            return Err(Status::invalid_argument("expected a raw G1 point"));
        }
        self.pause().await;
        let (x, y) = (
            U256::from_be_slice(&data[..32]),
            U256::from_be_slice(&data[32..]),
        );
        let signature = self
            .behaviour
            .lock()
            .unwrap()
            .key
            .sign_g1_point(x, y)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        self.signed.fetch_add(1, Ordering::SeqCst);
        Ok(Response::new(SignG1Response {
            signature: signature.to_bytes().to_vec(),
        }))
    }
}

/// Cerberus's name of a key.
pub fn name_of(key: &G1PublicKey) -> String {
    mach_node::cerberus::hex_g1(key)
}

impl TestSigner {
    /// A signer holding `key`, answering to its own name, requiring `api_key`.
    pub async fn start(key: BlsSecretKey, api_key: &str) -> Self {
        let behaviour = Behaviour {
            name: name_of(&key.public_key()),
            key,
            api_key: api_key.to_string(),
            delay: Duration::ZERO,
        };
        Self::serve(
            "127.0.0.1:0".parse().unwrap(),
            Arc::new(Mutex::new(behaviour)),
            Arc::new(AtomicUsize::new(0)),
            None,
        )
        .await
    }

    /// The same over TLS with this certificate and key (PEM); its URL is `https://localhost:…`.
    pub async fn start_tls(key: BlsSecretKey, api_key: &str, cert: &[u8], tls_key: &[u8]) -> Self {
        let behaviour = Behaviour {
            name: name_of(&key.public_key()),
            key,
            api_key: api_key.to_string(),
            delay: Duration::ZERO,
        };
        let mut signer = Self::serve(
            "127.0.0.1:0".parse().unwrap(),
            Arc::new(Mutex::new(behaviour)),
            Arc::new(AtomicUsize::new(0)),
            Some(Identity::from_pem(cert, tls_key)),
        )
        .await;
        signer.url = format!("https://localhost:{}", signer.addr.port());
        signer
    }

    async fn serve(
        addr: SocketAddr,
        behaviour: Arc<Mutex<Behaviour>>,
        signed: Arc<AtomicUsize>,
        tls: Option<Identity>,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let service = Service {
            behaviour: behaviour.clone(),
            signed: signed.clone(),
        };
        let mut builder = Server::builder();
        if let Some(identity) = tls {
            builder = builder
                .tls_config(ServerTlsConfig::new().identity(identity))
                .unwrap();
        }
        let task = tokio::spawn(async move {
            builder
                .add_service(SignerServer::new(service))
                .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            addr,
            url: format!("http://{addr}"),
            behaviour,
            signed,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops it; [`Self::restart`] serves again on the same port.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // The server ends once its listener and every connection are closed.
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the test signer stops within 10 s")
                .unwrap();
        }
    }

    /// Serves again on the same address with the same behaviour.
    pub async fn restart(&mut self) {
        let again = Self::serve(self.addr, self.behaviour.clone(), self.signed.clone(), None).await;
        *self = again;
    }
}

impl Drop for TestSigner {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
