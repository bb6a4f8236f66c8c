//! The server side of web3signer's Ethereum (eth1) signing API, as web3signer serves it:
//! `GET /api/v1/eth1/publicKeys` lists the keys (uncompressed, without the `04` prefix),
//! `POST /api/v1/eth1/sign/{public key}` with `{"data": "0x…"}` signs keccak256(data) and
//! answers `0x` + r ‖ s ‖ v (v = 27/28) as text. Test code only; behaviours a test needs
//! (another key signs, an error status, a slow answer) are chosen by [`Behaviour`].

use alloy::primitives::{hex, keccak256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::Arc;
use std::time::Duration;

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

/// A running web3signer API on 127.0.0.1, stopped when dropped.
pub struct Web3SignerServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Web3SignerServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The public key as web3signer lists eth1 keys: `0x` + 64 bytes (x ‖ y).
pub fn listed_key(key: &PrivateKeySigner) -> String {
    let point = key.credential().verifying_key().to_encoded_point(false);
    format!("0x{}", hex::encode(&point.as_bytes()[1..]))
}

/// Starts the server holding `key`; fails the test if it cannot listen.
pub async fn start(key: PrivateKeySigner, behaviour: Behaviour) -> Web3SignerServer {
    let state = Arc::new(Server { key, behaviour });
    let app = Router::new()
        .route("/api/v1/eth1/publicKeys", get(public_keys))
        .route("/api/v1/eth1/sign/{identifier}", post(sign))
        .route("/upcheck", get(|| async { "OK" }))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("the web3signer test server cannot listen on 127.0.0.1");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .await
            .expect("web3signer test server");
    });
    Web3SignerServer { url, task }
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
            return (
                StatusCode::from_u16(*status).unwrap(),
                "signing refused by policy",
            )
                .into_response()
        }
        Behaviour::Slow(delay) => {
            tokio::time::sleep(*delay).await;
            &server.key
        }
    };
    let signature = key.sign_hash_sync(&keccak256(&data)).unwrap();
    let mut bytes = signature.as_bytes(); // v = 27 / 28, as web3j (web3signer) writes it
    bytes[64] = 27 + u8::from(signature.v());
    (StatusCode::OK, format!("0x{}", hex::encode(bytes))).into_response()
}
