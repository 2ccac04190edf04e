//! The one place where text reaches HTML outside the framework's escaping.
//!
//! Leptos escapes text nodes and attributes in `view!`, but leptos_meta 0.8
//! writes `<Title>`'s text into `<title>` raw while rendering on the server,
//! so a poll titled `</title><script>…` would become a live script in every
//! visitor's page. Every `<title>` goes through [`PageTitle`], which escapes
//! on the server (in the browser the text is set as `document.title`, which
//! is never parsed as HTML).
use leptos::prelude::*;
use leptos::text_prop::TextProp;
use leptos_meta::Title;

/// `s` with the five characters that can change HTML's structure escaped,
/// safe in a text node and in a quoted attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The document's `<title>`, escaped where leptos_meta would not. The text
/// stays a plain closure (no reactive node of this component's own), since
/// leptos_meta may read it again while the page that set it is torn down.
#[component]
pub fn PageTitle(#[prop(into)] text: TextProp) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let text = TextProp::from(move || escape(&text.get()));
    view! { <Title text/> }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn hostile_markup_is_escaped_to_inert_text() {
        let hostile = r#"x</title><script>window.__pwned=1</script>"'&"#;
        assert_eq!(escape(hostile), "x&lt;/title&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt;&quot;&#39;&amp;");
    }

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(escape("Paredão · Live results"), "Paredão · Live results");
    }
}
