//! The target of `eddy load`: the URL parsed and resolved, and the request
//! serialized once.

use std::net::{SocketAddr, ToSocketAddrs};

use crate::Error;

/// A parsed `http://host[:port][/path]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// The host as written (a name, an IPv4 address, or `[v6]`).
    pub host: String,
    /// The port (80 if none).
    pub port: u16,
    /// The path and query (`/` if none).
    pub path: String,
}

impl Url {
    /// Parses `text`.
    ///
    /// # Errors
    ///
    /// A usage error saying what is wrong: no `http://`, HTTPS (not
    /// supported), no host, a bad port, a fragment or user info.
    pub fn parse(text: &str) -> Result<Url, Error> {
        let bad = |why: &str| Error::usage(format!("bad URL {text:?}: {why}"));
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("https://") {
            return Err(Error::usage(format!(
                "{text}: HTTPS is not supported (eddy load speaks plain HTTP/1.1 only; use http://)"
            )));
        }
        if !lower.starts_with("http://") {
            return Err(bad("it must start with http://"));
        }
        let rest = &text[7..];
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if path.contains('#') {
            return Err(bad("a fragment (#...) is never sent to a server"));
        }
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(bad("spaces or control characters in the path"));
        }
        if authority.contains('@') {
            return Err(bad("user info (user@host) is not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let close = v6.find(']').ok_or_else(|| bad("an unclosed [ in the host"))?;
            let after = &v6[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(bad("junk after the IPv6 address")),
            };
            (&authority[..close + 2], port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() || host == "[]" {
            return Err(bad("no host"));
        }
        let port = match port {
            None => 80,
            Some(p) => match p.parse::<u16>() {
                Ok(0) | Err(_) => return Err(bad(&format!("bad port {p:?} (1 to 65535)"))),
                Ok(p) => p,
            },
        };
        let path = if path.starts_with('?') { format!("/{path}") } else { path.to_string() };
        Ok(Url { host: host.to_string(), port, path })
    }

    /// The `Host` header's value.
    pub fn host_header(&self) -> String {
        if self.port == 80 { self.host.clone() } else { format!("{}:{}", self.host, self.port) }
    }

    /// The addresses the host resolves to.
    ///
    /// # Errors
    ///
    /// The host does not resolve.
    pub fn resolve(&self) -> Result<Vec<SocketAddr>, Error> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = (host, self.port)
            .to_socket_addrs()
            .map_err(|e| Error::new(format!("cannot resolve host {:?}: {e}", self.host)))?
            .collect();
        if addrs.is_empty() {
            return Err(Error::new(format!("host {:?} resolves to no address", self.host)));
        }
        Ok(addrs)
    }
}

/// The request every connection sends, serialized once.
pub(crate) fn serialize(
    method: &str,
    url: &Url,
    headers: &[String],
    body: Option<&[u8]>,
    close: bool,
) -> Result<Vec<u8>, Error> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)) {
        return Err(Error::usage(format!("bad method {method:?}")));
    }
    let mut req = format!("{method} {} HTTP/1.1\r\n", url.path).into_bytes();
    let has =
        |name: &str| headers.iter().any(|h| h.split(':').next().is_some_and(|n| n.trim().eq_ignore_ascii_case(name)));
    let (has_host, has_length) = (has("host"), has("content-length"));
    if !has_host {
        req.extend_from_slice(format!("Host: {}\r\n", url.host_header()).as_bytes());
    }
    for h in headers {
        let Some((name, value)) = h.split_once(':') else {
            return Err(Error::usage(format!("bad header {h:?}: it must be 'Name: value'")));
        };
        let name = name.trim();
        if name.is_empty() || name.bytes().any(|b| b <= b' ' || b == 0x7f) || h.contains(['\r', '\n']) {
            return Err(Error::usage(format!("bad header {h:?}")));
        }
        req.extend_from_slice(format!("{name}: {}\r\n", value.trim()).as_bytes());
    }
    if close {
        req.extend_from_slice(b"Connection: close\r\n");
    }
    if let Some(body) = body {
        if !has_length {
            req.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
    }
    req.extend_from_slice(b"\r\n");
    req.extend_from_slice(body.unwrap_or_default());
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("http://127.0.0.1:8080/a?b=c").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.path.as_str()), ("127.0.0.1", 8080, "/a?b=c"));
        let u = Url::parse("HTTP://example.com").unwrap();
        assert_eq!((u.port, u.path.as_str(), u.host_header().as_str()), (80, "/", "example.com"));
        let u = Url::parse("http://[::1]:9/x").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.host_header().as_str()), ("[::1]", 9, "[::1]:9"));
        assert_eq!(Url::parse("http://h?q").unwrap().path, "/?q");
        for (bad, why) in [
            ("https://x/", "HTTPS is not supported"),
            ("ftp://x/", "http://"),
            ("127.0.0.1:80", "http://"),
            ("http:///x", "no host"),
            ("http://h:0/", "bad port"),
            ("http://h:99999/", "bad port"),
            ("http://h:x/", "bad port"),
            ("http://u@h/", "user info"),
            ("http://h/a b", "spaces"),
            ("http://h/#f", "fragment"),
        ] {
            let e = Url::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn requests() {
        let u = Url::parse("http://h:81/p").unwrap();
        let r = serialize("POST", &u, &["X-A: 1".into()], Some(b"body"), true).unwrap();
        assert_eq!(
            r,
            b"POST /p HTTP/1.1\r\nHost: h:81\r\nX-A: 1\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbody"
        );
        let r = serialize("GET", &u, &["host: other".into()], None, false).unwrap();
        assert_eq!(r, b"GET /p HTTP/1.1\r\nhost: other\r\n\r\n");
        assert!(serialize("G T", &u, &[], None, false).is_err());
        assert!(serialize("GET", &u, &["nocolon".into()], None, false).is_err());
    }
}
