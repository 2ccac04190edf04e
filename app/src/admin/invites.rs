//! Single-use invite codes: made in batches by an admin, shown once (as
//! JSON, CSV or a printable sheet of QR codes), stored only as keyed hashes.
//! A code's use is decided in the batch transaction, like a voter mark.
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use api::{InviteStats, NewInvites};
use serde::Deserialize;

use super::auth::{AdminUser, AdminWriter};
use super::polls::entry;
use crate::db::{mutation, query};
use crate::http::ApiError;
use crate::keys::random_bytes;
use crate::state::AppState;
use crate::vote::{VoterKind, normalize_invite};

/// The most codes one request makes.
pub const MAX_INVITES_PER_CALL: u32 = 100_000;
/// Codes on one printable sheet: each is a QR code drawn on the spot.
pub const MAX_INVITES_PER_SHEET: u32 = 1_000;
/// Crockford's base32, without the letters people misread (I, L, O, U).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters per code: 12 × 5 = 60 bits, printed as `XXXX-XXXX-XXXX`.
const CODE_CHARS: usize = 12;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitesBody {
    /// How many codes, 1 to 100,000 (1 to 1,000 for `?format=sheet`).
    #[serde(deserialize_with = "api::whole::deserialize")]
    #[schema(minimum = 1, maximum = 100_000)]
    count: u32,
}

/// How the new codes come back.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InvitesFormat {
    /// `json` (default), `csv`, or `sheet` (a printable HTML page with a QR
    /// code per code).
    #[serde(default)]
    #[param(inline)]
    format: Option<Format>,
}

/// How the new codes come back.
#[derive(Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Csv,
    Sheet,
}

fn new_code() -> String {
    let bytes = random_bytes::<CODE_CHARS>();
    let chars: String =
        bytes.iter().map(|b| char::from(ALPHABET.get(usize::from(b & 31)).copied().unwrap_or(b'0'))).collect();
    let (a, rest) = chars.split_at(4);
    let (b, c) = rest.split_at(4);
    format!("{a}-{b}-{c}")
}

/// `POST /api/admin/polls/{id}/invites`: new codes, returned this once.
#[utoipa::path(
    post,
    path = "/api/admin/polls/{id}/invites",
    operation_id = "create_invites",
    tag = "admin",
    params(("id" = i64, Path, description = "The poll's id"), InvitesFormat),
    request_body = InvitesBody,
    security(("session" = [])),
    responses(
        (status = 201, description = "The new codes, shown once (JSON; with ?format=csv a CSV, with ?format=sheet a printable page of QR codes)", content(
            (NewInvites = "application/json"),
            (String = "text/csv"),
            (String = "text/html")
        )),
        (status = 400, response = crate::http::responses::BadRequest),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 404, response = crate::http::responses::NotFound),
        (status = 415, response = crate::http::responses::UnsupportedMediaType),
        (status = 422, response = crate::http::responses::Unprocessable)
    )
)]
pub async fn create(
    user: AdminWriter,
    path: web::Path<i64>,
    q: web::Query<InvitesFormat>,
    body: web::Json<crate::http::Object<InvitesBody>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let entry = entry(&state, *path)?;
    let format = q.format.unwrap_or(Format::Json);
    let most = if matches!(format, Format::Sheet) { MAX_INVITES_PER_SHEET } else { MAX_INVITES_PER_CALL };
    if !(1..=most).contains(&body.0.0.count) {
        return Err(ApiError::InviteCount(most));
    }
    let codes: Vec<String> = (0..body.0.0.count).map(|_| new_code()).collect();
    let hashes: Vec<[u8; 32]> =
        codes.iter().map(|c| state.server_key.voter_hash(VoterKind::Invite, &normalize_invite(c))).collect();
    mutation::create_invites(&state.db, entry.def.id, &hashes, &user.0.actor).await.map_err(ApiError::from)?;
    let base = format!("/p/{}", entry.def.slug);
    Ok(match format {
        Format::Csv => {
            let mut out = String::from("code,link\r\n");
            for c in &codes {
                out.push_str(&format!("{c},{base}?invite={c}\r\n"));
            }
            HttpResponse::Created()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}-invites.csv\"", entry.def.slug),
                ))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(out)
        }
        Format::Sheet => {
            // Drawing the QR codes is CPU work: off the HTTP worker.
            let title = entry.def.title.clone();
            let page =
                web::block(move || sheet(&title, &base, &codes)).await.map_err(|e| ApiError::Internal(e.into()))?;
            HttpResponse::Created()
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(page)
        }
        Format::Json => {
            HttpResponse::Created().insert_header((header::CACHE_CONTROL, "no-store")).json(NewInvites { codes })
        }
    })
}

/// A printable page: one card per code with its QR code (the voting page's
/// address with the code), for cutting out and handing to voters.
fn sheet(title: &str, base: &str, codes: &[String]) -> String {
    use frontend::html::escape as e;
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} · invites</title><style>\
         body{{font-family:system-ui,sans-serif;margin:0}}\
         .sheet{{display:grid;grid-template-columns:repeat(3,1fr);gap:4mm;padding:8mm}}\
         .card{{border:1px dashed #999;padding:4mm;text-align:center;break-inside:avoid}}\
         .card svg{{width:40mm;height:40mm}} .code{{font:600 14pt ui-monospace,monospace;letter-spacing:.05em}}\
         h1{{font-size:12pt;margin:0 0 2mm}} @media print{{.sheet{{padding:0}}}}\
         </style></head><body><main class=\"sheet\">",
        e(title)
    );
    for c in codes {
        let link = format!("{base}?invite={c}");
        // Inline in the page: without the document's XML prolog.
        let qr = crate::qr::svg(&link).unwrap_or_default();
        let qr = qr.split_once("?>").map_or(qr.as_str(), |(_, svg)| svg);
        html.push_str(&format!(
            "<section class=\"card\"><h1>{}</h1>{qr}<p class=\"code\">{}</p><p>{}</p></section>",
            e(title),
            e(c),
            e(&link)
        ));
    }
    html.push_str("</main></body></html>");
    html
}

/// `GET /api/admin/polls/{id}/invites`: how many codes exist and are used.
#[utoipa::path(
    get,
    path = "/api/admin/polls/{id}/invites",
    operation_id = "invite_stats",
    tag = "admin",
    params(("id" = i64, Path, description = "The poll's id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "How many codes exist and how many were used", body = InviteStats),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 404, response = crate::http::responses::NotFound)
    )
)]
pub async fn stats(
    _user: AdminUser,
    path: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let entry = entry(&state, *path)?;
    let (total, used) = query::invite_stats(&state.db, entry.def.id).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(InviteStats { total, used }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_twelve_unambiguous_characters_in_three_groups() {
        let c = new_code();
        assert_eq!(c.len(), 14, "{c}");
        assert!(c.chars().filter(|ch| *ch != '-').all(|ch| ALPHABET.contains(&(ch as u8))), "{c}");
        assert_ne!(new_code(), new_code());
        assert_eq!(normalize_invite(&c.to_lowercase().replace('-', " ")), normalize_invite(&c));
    }

    #[test]
    fn the_sheet_escapes_the_title() {
        let html = sheet("<script>x</script>", "/p/a", &["AAAA-BBBB-CCCC".into()]);
        assert!(!html.contains("<script>x"), "{html}");
        assert!(html.contains("AAAA-BBBB-CCCC") && html.contains("<svg"), "{html}");
    }
}
