//! GraphiQL, the GraphQL IDE, served from the binary itself: the page at `GET /graphql`
//! (for a browser) and its pinned scripts and styles under `/graphiql/` — nothing is
//! fetched from a CDN, so the IDE works on an intranet with no internet. The build is
//! graphiql 3.8.3 with React 18.3.1, copied by `api/assets/graphiql/vendor.sh` from the
//! npm registry with the licences of everything inside (`/graphiql/LICENSES.txt`).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One file of the IDE: its name under `/graphiql/`, media type and bytes.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $media_type:literal) => {
        Asset {
            name: $name,
            media_type: $media_type,
            bytes: include_bytes!(concat!("../assets/graphiql/", $name)),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("graphiql.min.js", "text/javascript; charset=utf-8"),
    asset!("graphiql.min.css", "text/css; charset=utf-8"),
    asset!("react.production.min.js", "text/javascript; charset=utf-8"),
    asset!(
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("whistle-graphiql.js", "text/javascript; charset=utf-8"),
    asset!("whistle.css", "text/css; charset=utf-8"),
    asset!("LICENSES.txt", "text/plain; charset=utf-8"),
];

const PAGE: &str = include_str!("../assets/graphiql/index.html");

/// Scripts and styles from this service only (React and GraphiQL's components set
/// inline styles; the fonts are data URLs in the stylesheet); requests to this
/// service's API and WebSocket only.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The IDE's page.
pub fn page() -> Response {
    let mut page = axum::response::Html(PAGE).into_response();
    page.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    page
}

/// `GET /graphiql/{file}`: one of the IDE's files, cacheable for a day.
pub async fn asset(Path(name): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == name) else {
        return (StatusCode::NOT_FOUND, "no such GraphiQL file").into_response();
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.media_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// The served copies are the vendored ones `vendor.sh` recorded.
    #[test]
    fn the_served_files_match_their_recorded_sums() {
        let sums = include_str!("../assets/graphiql/SHA256SUMS");
        let mut checked = 0;
        for line in sums.lines() {
            let (sum, name) = line.split_once("  ").expect("sha256sum's format");
            let asset = ASSETS
                .iter()
                .find(|asset| asset.name == name)
                .unwrap_or_else(|| panic!("{name} is recorded but not served"));
            let actual: String = Sha256::digest(asset.bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(
                actual, sum,
                "{name} differs from the copy vendor.sh recorded"
            );
            checked += 1;
        }
        assert_eq!(checked, 4);
    }

    #[test]
    fn the_page_loads_only_files_this_service_serves() {
        for reference in PAGE
            .split(['"', '\''])
            .filter(|s| s.starts_with("/graphiql/"))
        {
            let name = reference.trim_start_matches("/graphiql/");
            assert!(
                ASSETS.iter().any(|asset| asset.name == name),
                "the page loads {reference}, which is not served"
            );
        }
        assert!(!PAGE.contains("http://") && !PAGE.contains("https://"));
    }
}
