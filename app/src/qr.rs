//! QR codes, drawn as SVG on the server.
/// `text` as an SVG QR code (a standalone document, with its XML prolog):
/// the voting page's, the printed invite cards' and the two-step login
/// secret's.
pub fn svg(text: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| anyhow::anyhow!("QR code of {text}: {e}"))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(qrcode::render::svg::Color("#111111"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}
