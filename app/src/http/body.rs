//! [`SmallJson`]: a small JSON object body, read without the general JSON
//! extractor's fixed costs, for the vote route.
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use actix_web::error::JsonPayloadError;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{FromRequest, HttpRequest, dev};
use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use serde::de::DeserializeOwned;

use super::resource::{Object, json_problem};

/// A JSON object body of at most `LIMIT` bytes, answered with the same
/// problems as `web::Json<Object<T>>` under `json_error` (415, 413, 400
/// `malformed-json`, 422 `invalid-body`). What it saves on every request:
/// the `Content-Type` is checked in place instead of parsed into a `Mime`
/// (an allocation), and a body that arrives in one chunk (every vote) is
/// read where it lies, where `web::Json` gives each body a fresh 8 KiB buffer
/// and copies it there.
pub struct SmallJson<T, const LIMIT: usize>(pub T);

/// Whether a request's `Content-Type` is JSON as `web::Json` takes it: the
/// subtype `json` or a `+json` suffix, any parameters.
pub fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else { return false };
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b));
    if !token(kind) || !token(subtype) {
        return false;
    }
    subtype.eq_ignore_ascii_case("json")
        || subtype.rsplit_once('+').is_some_and(|(head, s)| !head.is_empty() && s.eq_ignore_ascii_case("json"))
}

impl<T: DeserializeOwned, const LIMIT: usize> FromRequest for SmallJson<T, LIMIT> {
    type Error = actix_web::Error;
    type Future = SmallJsonFut<T, LIMIT>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        let refused = if is_json(req) {
            declared.filter(|&n| n > LIMIT).map(|length| JsonPayloadError::OverflowKnownLength { length, limit: LIMIT })
        } else {
            Some(JsonPayloadError::ContentType)
        };
        SmallJsonFut { refused, payload: payload.take(), read: Read::Nothing, _body: PhantomData }
    }
}

/// What has been read so far: most bodies are one chunk, kept as it came.
enum Read {
    Nothing,
    One(Bytes),
    Several(BytesMut),
}

impl Read {
    fn bytes(&self) -> &[u8] {
        match self {
            Read::Nothing => &[],
            Read::One(b) => b,
            Read::Several(b) => b,
        }
    }
}

pub struct SmallJsonFut<T, const LIMIT: usize> {
    refused: Option<JsonPayloadError>,
    payload: dev::Payload,
    read: Read,
    _body: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned, const LIMIT: usize> Future for SmallJsonFut<T, LIMIT> {
    type Output = Result<SmallJson<T, LIMIT>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every field is Unpin.
        let this = self.get_mut();
        if let Some(e) = this.refused.take() {
            return Poll::Ready(Err(json_problem(e).into()));
        }
        loop {
            match ready!(Pin::new(&mut this.payload).poll_next(cx)) {
                Some(Ok(chunk)) => {
                    let read = std::mem::replace(&mut this.read, Read::Nothing);
                    this.read = match read {
                        Read::Nothing => Read::One(chunk),
                        Read::One(first) => {
                            let mut all = BytesMut::with_capacity(first.len() + chunk.len());
                            all.extend_from_slice(&first);
                            all.extend_from_slice(&chunk);
                            Read::Several(all)
                        }
                        Read::Several(mut all) => {
                            all.extend_from_slice(&chunk);
                            Read::Several(all)
                        }
                    };
                    if this.read.bytes().len() > LIMIT {
                        return Poll::Ready(Err(json_problem(JsonPayloadError::Overflow { limit: LIMIT }).into()));
                    }
                }
                Some(Err(e)) => return Poll::Ready(Err(json_problem(JsonPayloadError::Payload(e)).into())),
                None => {
                    return Poll::Ready(match serde_json::from_slice::<Object<T>>(this.read.bytes()) {
                        Ok(Object(v)) => Ok(SmallJson(v)),
                        Err(e) => Err(json_problem(JsonPayloadError::Deserialize(e)).into()),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::is_json;

    #[test]
    fn json_content_types_are_those_web_json_takes() {
        let is = |ct: &str| is_json(&TestRequest::default().insert_header(("content-type", ct)).to_http_request());
        for yes in [
            "application/json",
            "application/json; charset=utf-8",
            "APPLICATION/JSON",
            "application/vnd.api+json",
            "text/json",
        ] {
            assert!(is(yes), "{yes}");
        }
        for no in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "json",
            "application/",
            "/json",
            "application/jsonx",
            "application/+json x",
        ] {
            assert!(!is(no), "{no}");
        }
        assert!(!is_json(&TestRequest::default().to_http_request()), "no content type");
    }
}
