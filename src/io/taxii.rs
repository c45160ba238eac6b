//! TAXII 2.1 collections as fact sources: `--facts taxii://HOST:PORT/API_ROOT/collections/ID/`.
//!
//! [`load`] pages through the collection's objects endpoint
//! (`GET …/collections/ID/objects/?limit=N`, then `&next=TOKEN` while the server says
//! `"more": true`), checks every page (HTTP status, `application/taxii+json` content
//! type, size, a JSON envelope with an `objects` array), and only when every page is good
//! joins their objects into one STIX bundle, read by [`super::stix`] as a bundle file
//! would be. A collection is loaded whole or not at all: the first bad page ends the
//! load with its diagnostic and no fact of the collection is kept.
//!
//! # URLs
//!
//! `taxii://[USER[:PASSWORD]@]HOST:PORT/API_ROOT/collections/ID/[?added_after=TIMESTAMP][&limit=N]`
//! speaks HTTP, `taxiis://…` HTTPS. `added_after` (an RFC 3339 timestamp such as
//! `2025-01-01T00:00:00Z`) asks only for objects the server added later, for updates;
//! `limit` is the page size asked for (default 500; the server may send fewer). A user
//! without a password in the URL takes it from the environment variable
//! `ASCRIBE_TAXII_PASSWORD`, so that it need not appear on a command line. Passwords are
//! never shown in diagnostics or sources.
//!
//! # Limits
//!
//! Connecting may take 10 s and each page 60 s; a page may hold 64 MiB and the whole
//! collection 1 GiB, in at most 100,000 pages. Redirects are not followed.
//!
//! # Diagnostic codes
//!
//! | code | meaning |
//! |---|---|
//! | `E0330` | the TAXII URL is malformed (no collection id, bad port, unknown parameter, bad timestamp) |
//! | `E0331` | the server cannot be reached (connection refused, unknown host, timeout) |
//! | `E0332` | the server answered with an HTTP error (401/403: credentials, 404: no such API root or collection) |
//! | `E0333` | the answer is not TAXII 2.1 (its content type is not `application/taxii+json`) |
//! | `E0334` | a page was cut off or is larger than the limits |
//! | `E0335` | a page is not valid JSON |
//! | `E0336` | a page is not a TAXII envelope (`objects` not an array, `more` without `next`) |
//! | `E0337` | paging does not end (a page says there is more but holds no objects, or there are too many pages) |

use std::time::Duration;

use base64::Engine as _;

use super::tree::{self, Json, Node};
use super::{Loaded, Schema};
use crate::diagnostic::{Diagnostic, Sources, Span};

/// The media type of TAXII 2.1 responses.
const TAXII_MEDIA_TYPE: &str = "application/taxii+json";
/// What every request accepts.
const ACCEPT: &str = "application/taxii+json;version=2.1";
/// Page size asked for when the URL gives none.
const DEFAULT_LIMIT: u64 = 500;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_PAGE_BYTES: u64 = 64 << 20;
const MAX_TOTAL_BYTES: u64 = 1 << 30;
const MAX_PAGES: usize = 100_000;
/// The environment variable holding the password of a URL that names only a user.
pub const PASSWORD_VARIABLE: &str = "ASCRIBE_TAXII_PASSWORD";

/// Whether a `--facts` argument names a TAXII collection rather than a file.
pub fn is_taxii(argument: &str) -> bool {
    argument.starts_with("taxii://") || argument.starts_with("taxiis://")
}

/// Everything that can go wrong while reading a TAXII collection; the variant docs name
/// the code it becomes.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TaxiiError {
    /// `E0330`: the URL is malformed.
    #[error("malformed TAXII URL `{url}`: {problem}")]
    BadUrl {
        /// The URL as given, password removed.
        url: String,
        /// What is wrong.
        problem: String,
    },
    /// `E0331`: the server cannot be reached.
    #[error("cannot reach the TAXII server for `{url}`: {reason}")]
    Unreachable {
        /// The page's URL, password removed.
        url: String,
        /// The client's reason.
        reason: String,
    },
    /// `E0332`: the server answered with an HTTP error status.
    #[error("the TAXII server answered {status} for `{url}` (page {page}){detail}")]
    Status {
        /// The page's URL.
        url: String,
        /// The 1-based page number.
        page: usize,
        /// The HTTP status code.
        status: u16,
        /// The server's own words (TAXII error `title`), as ": …", or empty.
        detail: String,
    },
    /// `E0333`: the answer is not TAXII 2.1.
    #[error("`{url}` (page {page}) did not answer TAXII 2.1: content type `{content_type}`")]
    NotTaxii {
        /// The page's URL.
        url: String,
        /// The 1-based page number.
        page: usize,
        /// The `Content-Type` header, or `(none)`.
        content_type: String,
    },
    /// `E0334`: a page was cut off or is too large.
    #[error("page {page} of `{url}` could not be read whole: {reason}")]
    Body {
        /// The page's URL.
        url: String,
        /// The 1-based page number.
        page: usize,
        /// Why.
        reason: String,
    },
    /// `E0335`: a page is not valid JSON.
    #[error("page {page} of the TAXII collection is not valid JSON: {message}")]
    Syntax {
        /// The 1-based page number.
        page: usize,
        /// The parser's message.
        message: String,
        /// Where in the page.
        span: Span,
    },
    /// `E0336`: a page is not a TAXII envelope.
    #[error("page {page} of the TAXII collection is not a TAXII envelope: {problem}")]
    Envelope {
        /// The 1-based page number.
        page: usize,
        /// What is wrong.
        problem: String,
        /// The value at fault.
        span: Span,
    },
    /// `E0337`: paging does not end.
    #[error("paging through `{url}` does not end: {problem}")]
    Endless {
        /// The collection's URL.
        url: String,
        /// What the server did.
        problem: String,
    },
}

impl TaxiiError {
    /// The stable diagnostic code.
    pub fn code(&self) -> &'static str {
        match self {
            TaxiiError::BadUrl { .. } => "E0330",
            TaxiiError::Unreachable { .. } => "E0331",
            TaxiiError::Status { .. } => "E0332",
            TaxiiError::NotTaxii { .. } => "E0333",
            TaxiiError::Body { .. } => "E0334",
            TaxiiError::Syntax { .. } => "E0335",
            TaxiiError::Envelope { .. } => "E0336",
            TaxiiError::Endless { .. } => "E0337",
        }
    }
}

impl From<TaxiiError> for Diagnostic {
    fn from(error: TaxiiError) -> Diagnostic {
        let code = error.code();
        let message = error.to_string();
        let not_loaded = "nothing from this collection was loaded";
        match error {
            TaxiiError::BadUrl { .. } => Diagnostic::error_unplaced(code, message).with_help(
                "write taxii://HOST:PORT/API_ROOT/collections/ID/ (taxiis:// for HTTPS), \
                 optionally with ?added_after=2025-01-01T00:00:00Z and &limit=N",
            ),
            TaxiiError::Unreachable { .. } => Diagnostic::error_unplaced(code, message)
                .with_note(not_loaded)
                .with_help("check that the server runs and the host and port are right"),
            TaxiiError::Status { status, .. } => {
                let help = match status {
                    401 | 403 => format!(
                        "give a user and password the server accepts: \
                         taxii://USER:PASSWORD@HOST:PORT/..., or the password in {PASSWORD_VARIABLE}"
                    ),
                    404 => "check the API root and the collection id (the server's \
                            /taxii2/ discovery lists its API roots)"
                        .to_owned(),
                    _ => "try again later, or ask the server's administrator".to_owned(),
                };
                Diagnostic::error_unplaced(code, message)
                    .with_note(not_loaded)
                    .with_help(help)
            }
            TaxiiError::NotTaxii { .. } => Diagnostic::error_unplaced(code, message)
                .with_note(not_loaded)
                .with_help("the URL must name a TAXII 2.1 collection, whose pages are application/taxii+json"),
            TaxiiError::Body { .. } | TaxiiError::Endless { .. } => {
                Diagnostic::error_unplaced(code, message).with_note(not_loaded)
            }
            TaxiiError::Syntax { span, .. } => Diagnostic::error(code, message, span)
                .with_label("the page is not JSON from here")
                .with_note(not_loaded),
            TaxiiError::Envelope { span, .. } => Diagnostic::error(code, message, span)
                .with_label("expected by TAXII 2.1 here")
                .with_note(not_loaded),
        }
    }
}

/// A parsed `taxii://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Collection {
    https: bool,
    /// `HOST:PORT`.
    authority: String,
    /// The API root's path, without slashes at either end (`api1`, `taxii/api2`).
    api_root: String,
    id: String,
    user: Option<String>,
    password: Option<String>,
    added_after: Option<String>,
    limit: u64,
}

impl Collection {
    /// Parses `url`, taking a missing password from `password_variable`.
    fn parse(url: &str, password_variable: Option<String>) -> Result<Collection, TaxiiError> {
        let bad = |problem: &str| TaxiiError::BadUrl {
            url: redact(url),
            problem: problem.to_owned(),
        };
        let (https, rest) = if let Some(rest) = url.strip_prefix("taxiis://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("taxii://") {
            (false, rest)
        } else {
            return Err(bad("it must start with taxii:// or taxiis://"));
        };
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (rest, None),
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (user, password, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => match userinfo.split_once(':') {
                Some((user, password)) => (
                    Some(percent_decode(user)),
                    Some(percent_decode(password)),
                    host_port,
                ),
                None => (Some(percent_decode(userinfo)), None, host_port),
            },
            None => (None, None, authority),
        };
        let Some((host, port)) = host_port.rsplit_once(':') else {
            return Err(bad("it names no port (HOST:PORT)"));
        };
        if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(bad("expected HOST:PORT with a port from 1 to 65535"));
        }
        let path = path.trim_end_matches('/');
        let Some((api_root, id)) = path.rsplit_once("/collections/") else {
            return Err(bad("the path must be API_ROOT/collections/ID/"));
        };
        let api_root = api_root.trim_matches('/');
        if api_root.is_empty() || id.is_empty() || id.contains('/') {
            return Err(bad("the path must be API_ROOT/collections/ID/"));
        }
        let mut added_after = None;
        let mut limit = DEFAULT_LIMIT;
        for parameter in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            match parameter.split_once('=') {
                Some(("added_after", value)) => {
                    let value = percent_decode(value);
                    if !is_timestamp(&value) {
                        return Err(bad(
                            "added_after must be a timestamp such as 2025-01-01T00:00:00Z",
                        ));
                    }
                    added_after = Some(value);
                }
                Some(("limit", value)) => {
                    limit = value
                        .parse::<u64>()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| bad("limit must be a positive whole number"))?;
                }
                _ => {
                    return Err(bad(&format!(
                        "unknown parameter `{parameter}` (expected added_after or limit)"
                    )))
                }
            }
        }
        let password = match (&user, password) {
            (Some(_), None) => password_variable,
            (_, password) => password,
        };
        Ok(Collection {
            https,
            authority: host_port.to_owned(),
            api_root: api_root.to_owned(),
            id: id.to_owned(),
            user,
            password,
            added_after,
            limit,
        })
    }

    /// The collection as a `taxii://` URL without credentials, naming its source.
    fn display(&self) -> String {
        let scheme = if self.https { "taxiis" } else { "taxii" };
        let mut url = format!(
            "{scheme}://{}/{}/collections/{}/",
            self.authority, self.api_root, self.id
        );
        if let Some(after) = &self.added_after {
            url.push_str("?added_after=");
            url.push_str(after);
        }
        url
    }

    /// The HTTP URL of one page of the objects endpoint.
    fn page_url(&self, next: Option<&str>) -> String {
        let scheme = if self.https { "https" } else { "http" };
        let mut url = format!(
            "{scheme}://{}/{}/collections/{}/objects/?limit={}",
            self.authority,
            self.api_root,
            percent_encode(&self.id),
            self.limit
        );
        if let Some(after) = &self.added_after {
            url.push_str("&added_after=");
            url.push_str(&percent_encode(after));
        }
        if let Some(next) = next {
            url.push_str("&next=");
            url.push_str(&percent_encode(next));
        }
        url
    }

    /// The `Authorization` header value, when a user is given.
    fn authorization(&self) -> Option<String> {
        let user = self.user.as_ref()?;
        let credentials = format!("{user}:{}", self.password.as_deref().unwrap_or(""));
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        ))
    }
}

/// Whether `text` is an RFC 3339 UTC timestamp as TAXII writes them
/// (`2025-01-01T00:00:00Z`, `2025-01-01T00:00:00.123456Z`).
fn is_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|b| b.iter().all(u8::is_ascii_digit))
    };
    let fraction = match bytes.get(19) {
        Some(b'Z') => bytes.len() == 20,
        Some(b'.') => {
            bytes.len() > 21 && bytes.last() == Some(&b'Z') && digits(20..bytes.len() - 1)
        }
        _ => false,
    };
    digits(0..4)
        && bytes.get(4) == Some(&b'-')
        && digits(5..7)
        && bytes.get(7) == Some(&b'-')
        && digits(8..10)
        && bytes.get(10) == Some(&b'T')
        && digits(11..13)
        && bytes.get(13) == Some(&b':')
        && digits(14..16)
        && bytes.get(16) == Some(&b':')
        && digits(17..19)
        && fraction
}

/// `url` with any password replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            let password = if userinfo.contains(':') { ":***" } else { "" };
            format!(
                "{scheme}://{user}{password}@{host}{}",
                &rest[authority_end..]
            )
        }
        None => url.to_owned(),
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One page as received.
struct Page {
    url: String,
    status: u16,
    content_type: Option<String>,
    body: Result<String, String>,
}

/// Fetches one page; `Err` is a reason the server could not be reached.
fn fetch(agent: &ureq::Agent, url: &str, authorization: Option<&str>) -> Result<Page, String> {
    let mut request = agent.get(url).header("Accept", ACCEPT);
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    let mut response = request.call().map_err(|error| error.to_string())?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_PAGE_BYTES)
        .read_to_string()
        .map_err(|error| error.to_string());
    Ok(Page {
        url: url.to_owned(),
        status,
        content_type,
        body,
    })
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(PAGE_TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// The TAXII error message `title` of an error body, if it has one.
fn error_title(body: &str) -> Option<String> {
    let document = tree::parse(body).ok()?;
    let title = document.get("title")?.as_str()?.decode().into_owned();
    Some(title)
}

/// Loads the collection `url` names (see the module docs). Each page's text is
/// registered in `sources` under its URL, so diagnostics point into it; the joined
/// bundle is registered under the collection's URL.
pub fn load(url: &str, sources: &mut Sources, schema: &dyn Schema) -> Loaded {
    let failed = |error: TaxiiError| Loaded {
        diagnostics: vec![error.into()],
        ..Loaded::default()
    };
    let collection = match Collection::parse(url, std::env::var(PASSWORD_VARIABLE).ok()) {
        Ok(collection) => collection,
        Err(error) => return failed(error),
    };
    match fetch_all(&collection, sources) {
        Ok(bundle) => {
            let source = sources.add(collection.display(), bundle);
            super::stix::parse(sources.text(source), source, schema)
        }
        Err(error) => failed(error),
    }
}

/// Every page of the collection, joined into one bundle's text.
fn fetch_all(collection: &Collection, sources: &mut Sources) -> Result<String, TaxiiError> {
    let agent = agent();
    let authorization = collection.authorization();
    let mut bundle = String::from("{\"type\": \"bundle\", \"objects\": [");
    let mut n_objects = 0usize;
    let mut total_bytes = 0u64;
    let mut next: Option<String> = None;
    for page_number in 1..=MAX_PAGES {
        let url = collection.page_url(next.as_deref());
        let page = fetch(&agent, &url, authorization.as_deref()).map_err(|reason| {
            TaxiiError::Unreachable {
                url: url.clone(),
                reason,
            }
        })?;
        let text = check_page(page, page_number)?;
        total_bytes += text.len() as u64;
        if total_bytes > MAX_TOTAL_BYTES {
            return Err(TaxiiError::Body {
                url,
                page: page_number,
                reason: format!("the collection exceeds {} MiB", MAX_TOTAL_BYTES >> 20),
            });
        }
        let source = sources.add(url, text);
        let document = tree::parse(sources.text(source)).map_err(|error| TaxiiError::Syntax {
            page: page_number,
            message: error.message.clone(),
            span: Span::new(source, error.start, error.end),
        })?;
        let envelope = |problem: &str, json: &Json<'_>| TaxiiError::Envelope {
            page: page_number,
            problem: problem.to_owned(),
            span: Span::new(source, json.start, json.end),
        };
        if document.as_object().is_none() {
            return Err(envelope("expected a JSON object", &document));
        }
        let mut on_page = 0;
        if let Some(objects) = document.get("objects") {
            let Some(elements) = objects.as_array() else {
                return Err(envelope("`objects` must be an array", objects));
            };
            on_page = elements.len();
            for element in elements {
                bundle.push_str(if n_objects == 0 { "\n" } else { ",\n" });
                bundle.push_str(&sources.text(source)[element.start..element.end]);
                n_objects += 1;
            }
        }
        let more = match document.get("more") {
            None => false,
            Some(more) => match more.node {
                Node::Bool(more) => more,
                _ => return Err(envelope("`more` must be true or false", more)),
            },
        };
        if !more {
            bundle.push_str("\n]}\n");
            return Ok(bundle);
        }
        let token = match document.get("next").map(|n| (n, n.as_str())) {
            Some((_, Some(token))) => token.decode().into_owned(),
            Some((value, None)) => return Err(envelope("`next` must be a string", value)),
            None => {
                return Err(envelope(
                    "`more` is true but there is no `next` token to ask for the rest",
                    &document,
                ))
            }
        };
        // Servers may keep one token for a whole paging session (medallion does), so a
        // repeated token is no sign of a loop; a page that brings nothing new is.
        if on_page == 0 {
            return Err(TaxiiError::Endless {
                url: collection.display(),
                problem: format!("page {page_number} says there is more but holds no objects"),
            });
        }
        next = Some(token);
    }
    Err(TaxiiError::Endless {
        url: collection.display(),
        problem: format!("more than {MAX_PAGES} pages"),
    })
}

/// A page's text, if its status, content type and body are those of a TAXII page.
fn check_page(page: Page, page_number: usize) -> Result<String, TaxiiError> {
    if !(200..300).contains(&page.status) {
        let detail = page
            .body
            .as_deref()
            .ok()
            .and_then(error_title)
            .map_or_else(String::new, |title| format!(": {title}"));
        return Err(TaxiiError::Status {
            url: page.url,
            page: page_number,
            status: page.status,
            detail,
        });
    }
    let media_type = page
        .content_type
        .as_deref()
        .and_then(|t| t.split(';').next())
        .map(str::trim);
    if !media_type.is_some_and(|t| t.eq_ignore_ascii_case(TAXII_MEDIA_TYPE)) {
        return Err(TaxiiError::NotTaxii {
            url: page.url,
            page: page_number,
            content_type: page.content_type.unwrap_or_else(|| "(none)".to_owned()),
        });
    }
    page.body.map_err(|reason| TaxiiError::Body {
        url: page.url,
        page: page_number,
        reason,
    })
}

#[cfg(test)]
mod tests;
