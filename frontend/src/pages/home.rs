//! `/`: what urna is, and the way to the admin dashboard.
use leptos::prelude::*;

use crate::i18n::tr;

#[component]
pub fn HomePage() -> impl IntoView {
    let t = tr();
    view! {
        <section class="card home">
            <h1>"urna"</h1>
            <p class="tagline">{move || t().home_tagline}</p>
            <p>{move || t().home_body}</p>
            <p class="links"><a href="/admin">{move || t().home_admin}</a></p>
        </section>
    }
}
