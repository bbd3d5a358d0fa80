//! `[api]`: the supervisor's local HTTP API (queries while sled is held by the supervisor).

use std::net::SocketAddr;

use serde::{de::Error as _, Deserialize, Deserializer};

/// `[api]`.
///
/// ```toml
/// [api]
/// enabled = true
/// listen = "127.0.0.1:8640"
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Serve the API while the supervisor runs. Default true.
    pub enabled: bool,
    /// Listen address. Default `127.0.0.1:8640` (local only).
    #[serde(deserialize_with = "addr")]
    pub listen: SocketAddr,
}

fn addr<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(|_| {
        D::Error::custom(format!(
            "invalid listen address \"{s}\", expected IP:PORT such as \"127.0.0.1:8640\""
        ))
    })
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 8640)),
        }
    }
}
