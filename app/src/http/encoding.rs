//! Compressed answers: a body compressed once (brotli and gzip) and sent
//! in the best encoding a request accepts. Used for the site's files
//! (compressed at build time), cached pages (when rendered) and results
//! JSON (once per published snapshot), never for the SSE stream, which
//! must not wait for a compressor's buffer.
use std::io::Write;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponseBuilder};
use bytes::Bytes;

/// Bodies smaller than this go as they are: compressing them saves less
/// than the headers weigh.
pub const MIN_COMPRESSED: usize = 1024;

/// Whether `Accept-Encoding` takes `coding` (a `q` of 0 refuses it).
pub fn accepts(req: &HttpRequest, coding: &str) -> bool {
    let Some(v) = req.headers().get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()) else { return false };
    v.split(',').any(|part| {
        let mut it = part.split(';').map(str::trim);
        let name = it.next().unwrap_or_default();
        let refused = it.any(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()) == Some(0.0));
        name.eq_ignore_ascii_case(coding) && !refused
    })
}

/// The best of a body's encodings that the request accepts (`br`, else
/// `gzip`, else none), with its `Content-Encoding` set (the caller says
/// `Vary: Accept-Encoding`).
pub fn encoded(
    req: &HttpRequest,
    res: &mut HttpResponseBuilder,
    identity: &Bytes,
    br: Option<&Bytes>,
    gzip: Option<&Bytes>,
) -> Bytes {
    match (br, gzip) {
        (Some(br), _) if accepts(req, "br") => {
            res.insert_header((header::CONTENT_ENCODING, "br"));
            br.clone()
        }
        (_, Some(gz)) if accepts(req, "gzip") => {
            res.insert_header((header::CONTENT_ENCODING, "gzip"));
            gz.clone()
        }
        _ => identity.clone(),
    }
}

/// `body` in brotli (quality 9: a few milliseconds for a page) and gzip;
/// neither when it is under [`MIN_COMPRESSED`].
pub fn compressed(body: &[u8]) -> (Option<Bytes>, Option<Bytes>) {
    if body.len() < MIN_COMPRESSED {
        return (None, None);
    }
    let mut w = brotli::CompressorWriter::new(Vec::with_capacity(body.len() / 4), 4096, 9, 22);
    let br = match w.write_all(body).and_then(|()| w.flush()) {
        Ok(()) => w.into_inner(),
        Err(_) => Vec::new(),
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 3), flate2::Compression::best());
    let gz = gz.write_all(body).and_then(|()| gz.finish()).unwrap_or_default();
    let some = |v: Vec<u8>| (!v.is_empty()).then(|| Bytes::from(v));
    (some(br), some(gz))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn both_copies_hold_the_body_and_small_bodies_stay_as_they_are() {
        let body = "<p>urna counts every vote exactly.</p>".repeat(60);
        let (br, gz) = compressed(body.as_bytes());
        let (br, gz) = (br.unwrap(), gz.unwrap());
        assert!(br.len() < body.len() / 10 && gz.len() < body.len() / 5);
        let mut back = String::new();
        brotli::Decompressor::new(&br[..], 4096).read_to_string(&mut back).unwrap();
        assert_eq!(back, body);
        back.clear();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut back).unwrap();
        assert_eq!(back, body);
        assert_eq!(compressed(b"{\"total\": 1}"), (None, None));
    }
}
