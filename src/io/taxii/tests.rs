//! Unit tests of the TAXII client: URLs, and pages a real server would not send (cut
//! off, not JSON, not an envelope, endless), served by a local socket.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;

use super::*;
use crate::io::NoSchema;

fn parse(url: &str) -> Result<Collection, TaxiiError> {
    Collection::parse(url, Some("from-env".to_owned()))
}

#[test]
fn urls_name_server_api_root_and_collection() {
    let collection =
        parse("taxii://alice:s%3Acret@127.0.0.1:5000/taxii/api1/collections/abc/?added_after=2025-01-01T00:00:00Z&limit=2")
            .expect("a good URL");
    assert_eq!(
        collection,
        Collection {
            https: false,
            authority: "127.0.0.1:5000".to_owned(),
            api_root: "taxii/api1".to_owned(),
            id: "abc".to_owned(),
            user: Some("alice".to_owned()),
            password: Some("s:cret".to_owned()),
            added_after: Some("2025-01-01T00:00:00Z".to_owned()),
            limit: 2,
        }
    );
    assert_eq!(
        collection.page_url(Some("a b")),
        "http://127.0.0.1:5000/taxii/api1/collections/abc/objects/?limit=2&added_after=2025-01-01T00%3A00%3A00Z&next=a%20b"
    );
    assert_eq!(
        collection.display(),
        "taxii://127.0.0.1:5000/taxii/api1/collections/abc/?added_after=2025-01-01T00:00:00Z"
    );
    let https = parse("taxiis://bob@example.org:443/api/collections/x").expect("a good URL");
    assert!(https.https);
    assert_eq!(https.password.as_deref(), Some("from-env"));
    assert_eq!(https.limit, DEFAULT_LIMIT);
    assert_eq!(
        https.authorization().as_deref(),
        Some("Basic Ym9iOmZyb20tZW52")
    );
}

#[test]
fn bad_urls_say_what_is_wrong_without_the_password() {
    let problem = |url: &str| match parse(url) {
        Err(TaxiiError::BadUrl { url, problem }) => format!("{url}: {problem}"),
        other => panic!("{url} should be malformed, got {other:?}"),
    };
    assert_eq!(
        problem("taxii://u:secret@host/api/collections/x/"),
        "taxii://u:***@host/api/collections/x/: it names no port (HOST:PORT)"
    );
    assert_eq!(
        problem("taxii://host:0/api/collections/x/"),
        "taxii://host:0/api/collections/x/: expected HOST:PORT with a port from 1 to 65535"
    );
    assert_eq!(
        problem("taxii://host:80/api/x/"),
        "taxii://host:80/api/x/: the path must be API_ROOT/collections/ID/"
    );
    assert_eq!(
        problem("taxii://host:80/collections/x/"),
        "taxii://host:80/collections/x/: the path must be API_ROOT/collections/ID/"
    );
    assert_eq!(
        problem("taxii://host:80/api/collections/x/?added_after=yesterday"),
        "taxii://host:80/api/collections/x/?added_after=yesterday: added_after must be a timestamp such as 2025-01-01T00:00:00Z"
    );
    assert_eq!(
        problem("taxii://host:80/api/collections/x/?limit=0"),
        "taxii://host:80/api/collections/x/?limit=0: limit must be a positive whole number"
    );
    assert_eq!(
        problem("taxii://host:80/api/collections/x/?match=1"),
        "taxii://host:80/api/collections/x/?match=1: unknown parameter `match=1` (expected added_after or limit)"
    );
    assert!(is_timestamp("2025-01-01T00:00:00.123Z"));
    assert!(!is_timestamp("2025-01-01T00:00:00.Z"));
    assert!(!is_timestamp("2025-01-01"));
}

/// Serves `responses` in turn, one per connection, on a free local port.
fn serve(responses: Vec<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free local port");
    let address = listener.local_addr().expect("bound").to_string();
    std::thread::spawn(move || {
        for response in responses {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(&response);
        }
    });
    address
}

fn response(content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const TAXII: &str = "application/taxii+json;version=2.1";

/// Loads a collection from `responses`; renders what came out, with the local port as
/// `PORT`.
fn load_from(responses: Vec<Vec<u8>>) -> String {
    let address = serve(responses);
    let mut sources = Sources::default();
    let loaded = load(
        &format!("taxii://{address}/api1/collections/c1/?limit=1"),
        &mut sources,
        &NoSchema,
    );
    crate::io::render(&loaded, &sources)
        .trim_end()
        .replace(address.rsplit(':').next().unwrap_or(""), "PORT")
}

#[test]
fn two_pages_are_joined_into_one_bundle() {
    let first = r#"{"more": true, "next": "t1", "objects": [{"type": "intrusion-set", "id": "intrusion-set--a", "name": "A"}]}"#;
    let second = r#"{"more": false, "objects": [{"type": "relationship", "id": "relationship--1", "relationship_type": "uses", "source_ref": "intrusion-set--a", "target_ref": "tool--t"}, {"type": "tool", "id": "tool--t", "name": "T"}]}"#;
    assert_eq!(
        load_from(vec![response(TAXII, first), response(TAXII, second)]),
        "taxii://127.0.0.1:PORT/api1/collections/c1/:2:1 stix_object(\"intrusion-set--a\", intrusion_set, \"A\") @source(\"STIX A (intrusion-set--a)\")\n\
         taxii://127.0.0.1:PORT/api1/collections/c1/:2:1 stix_id(\"intrusion-set--a\", \"intrusion-set--a\") @source(\"STIX A (intrusion-set--a)\")\n\
         taxii://127.0.0.1:PORT/api1/collections/c1/:4:1 stix_object(\"tool--t\", tool, \"T\") @source(\"STIX T (tool--t)\")\n\
         taxii://127.0.0.1:PORT/api1/collections/c1/:4:1 stix_id(\"tool--t\", \"tool--t\") @source(\"STIX T (tool--t)\")\n\
         taxii://127.0.0.1:PORT/api1/collections/c1/:3:1 uses(\"intrusion-set--a\", \"tool--t\") @source(\"STIX A uses T (relationship--1)\")"
    );
}

#[test]
fn a_bad_second_page_loads_nothing() {
    let first = r#"{"more": true, "next": "t1", "objects": [{"type": "tool", "id": "tool--t", "name": "T"}]}"#;
    let cases: [(Vec<u8>, &str); 5] = [
        (
            response(TAXII, r#"{"more": false, "objects": [{"type": "tool""#),
            "error[E0335]: page 2 of the TAXII collection is not valid JSON: expected `,` or `}`, found the end of the file http://127.0.0.1:PORT/api1/collections/c1/objects/?limit=1&next=t1:1:44",
        ),
        (
            response(TAXII, r#"{"more": true, "objects": []}"#),
            "error[E0336]: page 2 of the TAXII collection is not a TAXII envelope: `more` is true but there is no `next` token to ask for the rest",
        ),
        (
            response(TAXII, r#"{"more": true, "next": "t1", "objects": []}"#),
            "error[E0337]: paging through `taxii://127.0.0.1:PORT/api1/collections/c1/` does not end: page 2 says there is more but holds no objects",
        ),
        (
            response("text/html", "<html>login</html>"),
            "error[E0333]: `http://127.0.0.1:PORT/api1/collections/c1/objects/?limit=1&next=t1` (page 2) did not answer TAXII 2.1: content type `text/html`",
        ),
        (
            format!("HTTP/1.1 200 OK\r\nContent-Type: {TAXII}\r\nContent-Length: 500\r\nConnection: close\r\n\r\n{{\"objects\": [").into_bytes(),
            "error[E0334]: page 2 of `http://127.0.0.1:PORT/api1/collections/c1/objects/?limit=1&next=t1` could not be read whole:",
        ),
    ];
    for (second, expected) in cases {
        let rendered = load_from(vec![response(TAXII, first), second]);
        assert!(rendered.starts_with(expected), "{rendered}");
        assert!(
            !rendered.contains("stix_object"),
            "a partial collection was loaded: {rendered}"
        );
        assert!(
            rendered.contains("nothing from this collection was loaded"),
            "{rendered}"
        );
    }
}

#[test]
fn a_server_error_names_the_page_and_the_servers_words() {
    let body = r#"{"title": "Collection not found", "http_status": "404"}"#;
    let not_found = format!(
        "HTTP/1.1 404 Not Found\r\nContent-Type: {TAXII}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let rendered = load_from(vec![not_found.into_bytes()]);
    assert!(
        rendered.starts_with("error[E0332]: the TAXII server answered 404 for `http://127.0.0.1:PORT/api1/collections/c1/objects/?limit=1` (page 1): Collection not found"),
        "{rendered}"
    );
}
