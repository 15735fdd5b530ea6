//! `summit serve --tls-cert --tls-key`: HTTPS and WSS with a certificate the test makes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn https_and_wss_with_a_test_certificate() {
    let dir = std::env::temp_dir().join(format!("summit-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let cert_pem = dir.join("cert.pem");
    let key_pem = dir.join("key.pem");
    let server = common::start_with(&[
        "--tls-cert",
        cert_pem.to_str().unwrap(),
        "--tls-key",
        key_pem.to_str().unwrap(),
    ]);
    let url = server.url.clone();
    assert!(url.starts_with("https://"), "{url}");
    let addr = url.trim_start_matches("https://").to_owned();

    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(cert.cert.der().to_vec()))
        .unwrap();
    let config = Arc::new(
        ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = ServerName::try_from("localhost").unwrap();

    // HTTPS.
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut tls = connector.connect(name.clone(), tcp).await.unwrap();
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut body = String::new();
    tls.read_to_string(&mut body).await.unwrap();
    assert!(
        body.starts_with("HTTP/1.1 200") && body.ends_with("ok"),
        "{body}"
    );
    // Browsers that saw it once use nothing but HTTPS for the site.
    assert!(
        body.to_lowercase()
            .contains("strict-transport-security: max-age=31536000"),
        "{body}"
    );

    // WSS: a join over TLS gets its welcome.
    let token = server
        .invite("m", "T", &["--skip-lobby", "--server", &url])
        .0;
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async("wss://localhost/ws", tls)
        .await
        .unwrap();
    let join = serde_json::json!({"type": "join", "version": 2, "meeting": "m", "invite": token});
    ws.send(Message::text(join.to_string())).await.unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    assert!(reply.to_text().unwrap().contains("\"welcome\""), "{reply}");

    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
