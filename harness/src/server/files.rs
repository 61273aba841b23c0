//! A request answered from the bundle directory: path sanitising, lookup inside the root, content types and headers.

use super::*;

pub(super) async fn handle(req: Request<Incoming>, root: Arc<PathBuf>) -> Resp {
    let head = match *req.method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => {
            let mut resp = simple(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return resp;
        }
    };
    let Some(rel) = sanitize(req.uri().path()) else {
        return simple(StatusCode::NOT_FOUND, "not found\n");
    };
    // All filesystem work (canonicalize, stat, open) happens in one blocking hop.
    let looked_up = tokio::task::spawn_blocking(move || lookup(&root, &rel, head)).await;
    match looked_up {
        Ok(Ok(Found { path, len, file })) => {
            let body = match file {
                Some(f) => Body::file(f, len),
                None => Body::bytes(Bytes::new()),
            };
            let mut resp = Response::new(body);
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&path)),
            );
            resp.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            resp.headers_mut().insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            add_common_headers(&mut resp);
            resp
        }
        Ok(Err(LookupError::NotFound)) => simple(StatusCode::NOT_FOUND, "not found\n"),
        Ok(Err(LookupError::Io)) | Err(_) => {
            simple(StatusCode::INTERNAL_SERVER_ERROR, "read error\n")
        }
    }
}

pub(super) fn simple(status: StatusCode, text: &'static str) -> Resp {
    let mut resp = Response::new(Body::bytes(Bytes::from_static(text.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    add_common_headers(&mut resp);
    resp
}

pub(super) fn add_common_headers(resp: &mut Resp) {
    for (name, value) in COMMON_HEADERS {
        resp.headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
}

/// Turn a request path (query already excluded) into safe relative segments, or `None` (→ 404).
/// Decodes percent-escapes exactly once, then rejects `.`/`..`/empty segments (so `//x`, `/a//b` and any
/// decoded `%2e%2e` or `%2f` trick fail), backslashes, NUL and `:`. A trailing `/` means the directory's
/// `index.html`; `/` itself is `index.html`.
pub(super) fn sanitize(raw: &str) -> Option<Vec<String>> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    let rest = decoded.strip_prefix('/')?;
    let (rest, dir_index) = match rest.strip_suffix('/') {
        Some(r) => (r, true),
        None => (rest, rest.is_empty()),
    };
    let mut segments = Vec::new();
    if !rest.is_empty() {
        for seg in rest.split('/') {
            let bad =
                seg.is_empty() || seg.chars().all(|c| c == '.') || seg.contains(['\\', '\0', ':']);
            if bad {
                return None;
            }
            segments.push(seg.to_string());
        }
    }
    if dir_index {
        segments.push("index.html".to_string());
    }
    Some(segments)
}

pub(super) struct Found {
    path: PathBuf,
    len: u64,
    /// Open for reading (None for HEAD).
    file: Option<std::fs::File>,
}

pub(super) enum LookupError {
    NotFound,
    Io,
}

/// Resolve `rel` under the canonical `root`, following symlinks only while the target stays under `root`.
/// A directory resolves to its `index.html`. With `head`, only the length is read.
pub(super) fn lookup(root: &Path, rel: &[String], head: bool) -> Result<Found, LookupError> {
    let mut path = contained(root, root.join(rel.iter().collect::<PathBuf>()))?;
    let mut meta = std::fs::metadata(&path).map_err(|_| LookupError::NotFound)?;
    if meta.is_dir() {
        path = contained(root, path.join("index.html"))?;
        meta = std::fs::metadata(&path).map_err(|_| LookupError::NotFound)?;
    }
    if !meta.is_file() {
        return Err(LookupError::NotFound);
    }
    if head {
        return Ok(Found {
            path,
            len: meta.len(),
            file: None,
        });
    }
    let file = std::fs::File::open(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => LookupError::NotFound,
        _ => LookupError::Io,
    })?;
    // The length of what was opened (a rebuild may have replaced the file since the stat).
    let len = file.metadata().map_err(|_| LookupError::Io)?.len();
    Ok(Found {
        path,
        len,
        file: Some(file),
    })
}

/// Canonicalize `candidate` and require it under `root` (already canonical); anything else is "not found".
pub(super) fn contained(root: &Path, candidate: PathBuf) -> Result<PathBuf, LookupError> {
    let canon = candidate
        .canonicalize()
        .map_err(|_| LookupError::NotFound)?;
    if canon.starts_with(root) {
        Ok(canon)
    } else {
        Err(LookupError::NotFound)
    }
}

pub(super) fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "css" => "text/css",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}
