//! web3signer's Ethereum (eth1) signing API served in process, for the tests of the ECDSA
//! signer (`mach_chain::Web3Signer`) and of the roles that use it. It answers as web3signer does:
//! `GET /api/v1/eth1/publicKeys` lists the key (uncompressed, without the `04` prefix), and
//! `POST /api/v1/eth1/sign/{public key}` with `{"data": "0x…"}` signs keccak256(data) and
//! answers `0x` + r ‖ s ‖ v (v = 27/28) as text. What a test needs to go wrong (another key
//! signs, an error status, a slow answer) is chosen by [`Behaviour`]; an outage by
//! [`Web3SignerServer::stop`] and [`Web3SignerServer::restart`].

#![allow(clippy::expect_used)] // a test server that cannot listen fails the test loudly

use alloy::primitives::{hex, keccak256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How the server answers sign requests.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Signs with the listed key.
    Honest,
    /// Lists one key but signs with this other one.
    SignsWith(PrivateKeySigner),
    /// Answers every sign request with this status.
    Status(u16),
    /// Waits this long before answering.
    Slow(Duration),
}

struct Server {
    key: PrivateKeySigner,
    behaviour: Behaviour,
}

/// The server task and the sender that stops it.
struct Serving {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// A web3signer API on 127.0.0.1, stopped when dropped.
pub struct Web3SignerServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    address: SocketAddr,
    state: Arc<Server>,
    serving: Option<Serving>,
}

impl Web3SignerServer {
    /// Goes down as web3signer does when it stops: the port is closed and so is every open
    /// connection (after the request it is answering), so clients get "connection refused".
    pub async fn stop(&mut self) {
        if let Some(Serving { stop, task }) = self.serving.take() {
            let _ = stop.send(());
            let _ = task.await;
        }
    }

    /// Serves again on the same address after [`Web3SignerServer::stop`]; fails the test if
    /// the port cannot be had again.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = TcpListener::bind(self.address)
            .await
            .expect("the web3signer test server cannot listen on its port again");
        self.serving = Some(serve(listener, self.state.clone()));
    }
}

impl Drop for Web3SignerServer {
    fn drop(&mut self) {
        if let Some(Serving { stop, task }) = self.serving.take() {
            let _ = stop.send(());
            task.abort();
        }
    }
}

/// The public key as web3signer lists eth1 keys: `0x` + 64 bytes (x ‖ y).
pub fn listed_key(key: &PrivateKeySigner) -> String {
    let point = key.credential().verifying_key().to_encoded_point(false);
    format!("0x{}", hex::encode(&point.as_bytes()[1..]))
}

/// Starts the server holding `key` on a free port; fails the test if it cannot listen.
pub async fn start(key: PrivateKeySigner, behaviour: Behaviour) -> Web3SignerServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("the web3signer test server cannot listen on 127.0.0.1");
    let address = listener
        .local_addr()
        .expect("the web3signer test server's address");
    let state = Arc::new(Server { key, behaviour });
    Web3SignerServer {
        url: format!("http://{address}"),
        address,
        serving: Some(serve(listener, state.clone())),
        state,
    }
}

fn serve(listener: TcpListener, state: Arc<Server>) -> Serving {
    let app = Router::new()
        .route("/api/v1/eth1/publicKeys", get(public_keys))
        .route("/api/v1/eth1/sign/{identifier}", post(sign))
        .route("/upcheck", get(|| async { "OK" }))
        .with_state(state);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .expect("web3signer test server");
    });
    Serving { stop, task }
}

async fn public_keys(State(server): State<Arc<Server>>) -> Json<Vec<String>> {
    Json(vec![listed_key(&server.key)])
}

#[derive(serde::Deserialize)]
struct SignRequest {
    data: String,
}

async fn sign(
    State(server): State<Arc<Server>>,
    Path(identifier): Path<String>,
    Json(request): Json<SignRequest>,
) -> Response {
    if !identifier.eq_ignore_ascii_case(&listed_key(&server.key)) {
        return (StatusCode::NOT_FOUND, "Public Key not found").into_response();
    }
    let Ok(data) = hex::decode(&request.data) else {
        return (StatusCode::BAD_REQUEST, "Bad request format").into_response();
    };
    let key = match &server.behaviour {
        Behaviour::Honest => &server.key,
        Behaviour::SignsWith(other) => other,
        Behaviour::Status(status) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, "signing refused by policy").into_response();
        }
        Behaviour::Slow(delay) => {
            tokio::time::sleep(*delay).await;
            &server.key
        }
    };
    let Ok(signature) = key.sign_hash_sync(&keccak256(&data)) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "cannot sign").into_response();
    };
    let mut bytes = signature.as_bytes(); // v = 27 / 28, as web3j (web3signer) writes it
    bytes[64] = 27 + u8::from(signature.v());
    (StatusCode::OK, format!("0x{}", hex::encode(bytes))).into_response()
}
