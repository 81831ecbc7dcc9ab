//! `mockito-endpoint`: a mock HTTP server per test (book section "Testing Network Interactions").
//!
//! `mockito::Server::new_async()` starts a real HTTP server on 127.0.0.1 with a free port. A test
//! registers mocks on it: a method and path, matchers for the query (or headers, or body), the
//! response to give, and how many matching requests to expect. The code under test sends real
//! requests with reqwest; afterwards `mock.assert_async()` fails the test unless exactly the
//! expected number of matching requests arrived. A request that matches no mock gets
//! `501 Not Implemented`, so a wrong URL shows up in the response too.
//!
//! Each test owns its server, so tests never share a server's state, and nothing leaves the
//! machine. The code under test learns where to send requests from an [`ApiConfig`], the book's
//! closing tip: production reads the base URL from its environment ([`EnvConfig`]), tests pass
//! the mock server's URL ([`StaticConfig`]), and no test ever sets an environment variable
//! (`cargo test` runs the tests of a target on threads of one process, which share one
//! environment).
//!
//! Run it with `cargo run -p ch11 -- mockito-endpoint [--url URL]`; `--url` (or `CH11_API_URL`)
//! sends the same request to another server once the mock part is done. The tests are
//! `cargo test -p ch11 mockito_endpoint`.

use std::error::Error;
use std::sync::Arc;

use common::demo::{Args, DemoResult};
use mockito::{Matcher, Mock, Server, ServerGuard};

use crate::caught::show_panic;

/// The book's mock: `GET /my-endpoint` with both query parameters answers `201 world`, and
/// exactly `hits` such requests are expected.
pub async fn mock_my_endpoint(server: &mut ServerGuard, hits: usize) -> Mock {
    server
        .mock("GET", "/my-endpoint")
        .match_query(Matcher::AllOf(vec![
            Matcher::UrlEncoded("param1".into(), "value1".into()),
            Matcher::UrlEncoded("param2".into(), "value2".into()),
        ]))
        .with_status(201)
        .with_body("world")
        .expect(hits)
        .create_async()
        .await
}

/// The code under test: one GET of `/my-endpoint?param1=value1&param2=value2` on the configured
/// server, returning the status code and the body.
pub async fn fetch_my_endpoint(
    client: &reqwest::Client,
    config: &impl ApiConfig,
) -> reqwest::Result<(u16, String)> {
    let url = format!(
        "{}/my-endpoint?param1=value1&param2=value2",
        config.base_url()
    );
    // Book: the dependency block names `request` 0.11.22 and the tests `use request;`; the crate
    // is `reqwest` (here 0.13, its clients built by `common::client::client_for`).
    let response = client.get(url).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

/// Sends `count` requests at once, each in its own task, and returns every `(status, body)`.
pub async fn fetch_concurrently<C>(
    client: &reqwest::Client,
    config: Arc<C>,
    count: usize,
) -> Result<Vec<(u16, String)>, Box<dyn Error + Send + Sync>>
where
    C: ApiConfig + Send + Sync + 'static,
{
    let mut handles = Vec::with_capacity(count);
    for _ in 0..count {
        // A `reqwest::Client` is a handle to one shared connection pool: cloning it is cheap.
        let client = client.clone();
        let config = Arc::clone(&config);
        // Book: every task builds its own `Client` (its own pool) and `unwrap`s the response,
        // which nobody checks; ours share one client and return what they got.
        handles.push(tokio::spawn(async move {
            fetch_my_endpoint(&client, config.as_ref()).await
        }));
    }
    let mut responses = Vec::with_capacity(count);
    for handle in handles {
        responses.push(handle.await??);
    }
    Ok(responses)
}

// Book: the tip says `cargo test` runs over multiple processes; it runs one process per test
// target, and that target's tests on threads of it, which is exactly why environment variables
// set by one test leak into others.
/// Where the API lives. Injected, so tests can point the code at a mock server.
pub trait ApiConfig {
    /// The base URL, without a trailing slash: `http://127.0.0.1:PORT`.
    fn base_url(&self) -> String;
}

/// A fixed base URL: what tests (and `--url`) use.
#[derive(Debug, Clone)]
pub struct StaticConfig {
    /// The base URL.
    pub base_url: String,
}

impl ApiConfig for StaticConfig {
    fn base_url(&self) -> String {
        self.base_url.trim_end_matches('/').to_string()
    }
}

/// The production configuration: the base URL from the environment variable [`EnvConfig::VAR`],
/// read once, when the configuration is made.
#[derive(Debug, Clone)]
pub struct EnvConfig {
    base_url: String,
}

impl EnvConfig {
    /// The variable it reads.
    pub const VAR: &'static str = "CH11_API_URL";

    /// The configuration, or `None` if the variable is unset or not Unicode.
    pub fn from_env() -> Option<Self> {
        std::env::var(Self::VAR)
            .ok()
            .map(|base_url| EnvConfig { base_url })
    }
}

impl ApiConfig for EnvConfig {
    fn base_url(&self) -> String {
        self.base_url.trim_end_matches('/').to_string()
    }
}

/// A URL on `config`'s server with the query parameters in the order given.
fn url_with_query(config: &impl ApiConfig, query: &str) -> String {
    format!("{}/my-endpoint?{query}", config.base_url())
}

/// Runs the demo: `mockito-endpoint [--url URL]`.
pub fn run(mut args: Args) -> DemoResult {
    let url = args.url()?;
    args.finish()?;
    // Book: `Builder::new_current_thread().enable_io().enable_time()`; `#[tokio::main]` with the
    // current-thread flavour is the same runtime.
    demo(url)
}

#[tokio::main(flavor = "current_thread")]
async fn demo(url: Option<String>) -> DemoResult {
    // Book: `mockito::Server::new()`, the blocking constructor; inside a tokio runtime it panics
    // ("Cannot start a runtime from within a runtime"), so async code uses `new_async`.
    let mut server = Server::new_async().await;
    let config = Arc::new(StaticConfig {
        base_url: server.url(),
    });
    let client = common::client::client_for(&server.url())?;
    println!("mock server at {}", server.url());

    println!("\n1. the book's test: five concurrent GETs, the mock expects exactly five");
    let mock = mock_my_endpoint(&mut server, 5).await;
    for (status, body) in fetch_concurrently(&client, Arc::clone(&config), 5).await? {
        println!("   {status} {body}");
    }
    println!("   matched = {}", mock.matched_async().await);
    mock.remove_async().await;

    println!("\n2. what the mock catches");
    println!("   a) only four requests arrive, five were expected; mock.assert():");
    let mock = mock_my_endpoint(&mut server, 5).await;
    fetch_concurrently(&client, Arc::clone(&config), 4).await?;
    println!("     matched = {}", mock.matched_async().await);
    show_panic(|| mock.assert()).err();
    mock.remove_async().await;

    println!("   b) a wrong query value (param2=value3): no mock matches it");
    let mock = mock_my_endpoint(&mut server, 1).await;
    let wrong = client
        .get(url_with_query(
            config.as_ref(),
            "param1=value1&param2=value3",
        ))
        .send()
        .await?;
    println!(
        "     → {} (mockito's answer to a request nothing matched); matched = {}",
        wrong.status(),
        mock.matched_async().await
    );
    println!("   c) the same parameters in the other order still match:");
    let swapped = client
        .get(url_with_query(
            config.as_ref(),
            "param2=value2&param1=value1",
        ))
        .send()
        .await?;
    println!(
        "     → {} {}; matched = {}",
        swapped.status().as_u16(),
        swapped.text().await?,
        mock.matched_async().await
    );

    println!("\n3. the same function against another server, chosen by configuration");
    // `--url` wins; otherwise the production configuration, from the environment.
    if let Some(url) = url {
        show_real_fetch(&format!("--url {url}"), &StaticConfig { base_url: url }).await?;
    } else if let Some(env) = EnvConfig::from_env() {
        show_real_fetch(&format!("{}={}", EnvConfig::VAR, env.base_url()), &env).await?;
    } else {
        println!(
            "   (pass --url URL or set {} to send the request to a real server)",
            EnvConfig::VAR
        );
    }
    Ok(())
}

/// Part 3 of the demo: one request to a server the reader chose; a failure is reported, not fatal.
async fn show_real_fetch(source: &str, config: &impl ApiConfig) -> DemoResult {
    let client = common::client::client_for(&config.base_url())?;
    match fetch_my_endpoint(&client, config).await {
        Ok((status, body)) => {
            let body: String = body.chars().take(60).collect();
            println!("   {source}: {status} {body:?}");
        }
        Err(e) => println!("   {source}: the request failed: {e}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn setup() -> (ServerGuard, Arc<StaticConfig>, reqwest::Client) {
        let server = Server::new_async().await;
        let config = Arc::new(StaticConfig {
            base_url: server.url(),
        });
        let client = common::client::client_for(&server.url()).unwrap();
        (server, config, client)
    }

    // Book: `#[test]` with `mockito::Server::new()`, a hand-built runtime and `mock.assert()`;
    // under `#[tokio::test]` the async constructor and assertion are the ones to use.
    #[tokio::test]
    async fn test_networking() {
        let (mut server, config, client) = setup().await;
        let mock = mock_my_endpoint(&mut server, 5).await;
        let responses = fetch_concurrently(&client, config, 5).await.unwrap();
        assert_eq!(responses, vec![(201, "world".to_string()); 5]);
        mock.assert_async().await;
    }

    #[tokio::test]
    #[should_panic(expected = "Expected 5 request(s)")]
    async fn four_requests_where_five_were_expected_fail_the_assertion() {
        let (mut server, config, client) = setup().await;
        let mock = mock_my_endpoint(&mut server, 5).await;
        fetch_concurrently(&client, config, 4).await.unwrap();
        assert!(!mock.matched_async().await);
        mock.assert_async().await;
    }

    #[tokio::test]
    async fn a_wrong_query_gets_501_and_does_not_count() {
        let (mut server, config, client) = setup().await;
        let mock = mock_my_endpoint(&mut server, 1).await;
        let response = client
            .get(url_with_query(
                config.as_ref(),
                "param1=value1&param2=value3",
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 501);
        assert!(!mock.matched_async().await);

        let response = client
            .get(url_with_query(
                config.as_ref(),
                "param2=value2&param1=value1",
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "the order of parameters is free");
        mock.assert_async().await;
    }

    #[tokio::test]
    async fn the_base_url_comes_from_the_config_not_the_environment() {
        let (mut server, _, client) = setup().await;
        let mock = mock_my_endpoint(&mut server, 1).await;
        let config = StaticConfig {
            base_url: format!("{}/", server.url()), // a trailing slash is tolerated
        };
        let (status, body) = fetch_my_endpoint(&client, &config).await.unwrap();
        assert_eq!((status, body.as_str()), (201, "world"));
        mock.assert_async().await;
    }

    #[test]
    fn env_config_trims_the_trailing_slash() {
        // Built directly: tests never set environment variables (they share one process).
        let config = EnvConfig {
            base_url: "http://127.0.0.1:9/".to_string(),
        };
        assert_eq!(config.base_url(), "http://127.0.0.1:9");
    }

    #[test]
    fn the_demo_runs_offline() {
        run(Args::default()).unwrap();
    }
}
