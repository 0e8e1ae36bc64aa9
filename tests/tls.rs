//! HTTPS for real, on both transports: a loopback server with a certificate made here (a
//! private certificate authority and a leaf for `localhost`, by rcgen), served by rustls with
//! ALPN. A client that trusts the authority talks HTTP/2 to it; one that does not, or that
//! reaches the server under a name the certificate does not carry, fails with a transport error
//! that names the certificate problem, is not retried, and shows no secret.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde::Deserialize;
use supabase_rest::{Client, RetryPolicy, Transport};

mod tls_server;

use tls_server::https_server;

#[derive(Debug, Deserialize, PartialEq)]
struct Grant {
    id: i64,
    title: String,
}

const TRANSPORTS: [Transport; 2] = [Transport::Hyper, Transport::Reqwest];

#[tokio::test]
async fn a_client_trusting_the_authority_talks_http2_over_tls_on_both_transports() {
    let server = https_server().await;
    for transport in TRANSPORTS {
        let client = Client::builder(
            format!("https://localhost:{}", server.addr.port()),
            "anon-key",
        )
        .transport(transport)
        .add_root_certificate(server.ca.clone())
        .build()
        .unwrap();
        assert_eq!(client.transport(), transport);
        let rows: Vec<Grant> = client
            .from("grants")
            .select("id,title")
            .returns::<Grant>()
            .await
            .unwrap_or_else(|e| panic!("{transport:?}: {e}"));
        assert_eq!(
            rows,
            [Grant {
                id: 1,
                title: "t".into()
            }]
        );
        let last = server.seen.lock().unwrap().pop().unwrap();
        assert_eq!(
            last,
            (
                hyper::Version::HTTP_2,
                "GET".to_owned(),
                "/rest/v1/grants".to_owned()
            ),
            "{transport:?} negotiates HTTP/2 by ALPN"
        );
    }
}

#[tokio::test]
async fn an_untrusted_or_misnamed_certificate_is_a_lasting_connect_error_without_secrets() {
    let server = https_server().await;
    let port = server.addr.port();
    for transport in TRANSPORTS {
        // Not trusted: the authority is unknown to the platform's store.
        // Misnamed: trusted, but reached as 127.0.0.1, which the certificate does not name.
        for (url, trust, problem) in [
            (format!("https://localhost:{port}"), false, "UnknownIssuer"),
            (
                format!("https://127.0.0.1:{port}"),
                true,
                "not valid for name",
            ),
        ] {
            let mut builder = Client::builder(&url, "anon-key-secret")
                .transport(transport)
                .access_token("user-jwt-secret")
                // The default policy would retry a connect error; this one shows that the
                // client itself does not, for a certificate it refused.
                .retry(RetryPolicy::default().max_retries(3));
            if trust {
                builder = builder.add_root_certificate(server.ca.clone());
            }
            let client = builder.build().unwrap();
            let before = server.seen.lock().unwrap().len();
            let err = client
                .from("grants")
                .select("id")
                .returns::<Grant>()
                .await
                .unwrap_err();
            let text = err.to_string();
            assert!(err.is_connect(), "{transport:?} {url}: {text}");
            assert!(!err.is_retryable(), "{transport:?} {url}: {text}");
            assert!(!err.may_have_been_applied(), "{transport:?} {url}: {text}");
            assert!(
                text.contains("certificate") && text.contains(problem),
                "{transport:?} {url}: {text}"
            );
            for secret in ["anon-key-secret", "user-jwt-secret"] {
                assert!(!text.contains(secret), "{text}");
                assert!(!format!("{err:?}").contains(secret), "{err:?}");
            }
            assert_eq!(
                server.seen.lock().unwrap().len(),
                before,
                "no request got through"
            );
        }
    }
}

#[tokio::test]
async fn a_certificate_that_is_not_der_fails_when_the_client_is_built() {
    for transport in TRANSPORTS {
        let err = Client::builder("https://xyz.supabase.co", "anon-key")
            .transport(transport)
            .add_root_certificate(b"not a certificate".to_vec())
            .build()
            .unwrap_err();
        assert!(
            err.to_string().to_lowercase().contains("certificate"),
            "{transport:?}: {err}"
        );
    }
}
