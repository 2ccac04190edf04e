//! `/p/{slug}/verify`: anyone pastes a vote's receipt and the browser checks
//! it against the public ledger — its audit path up to its batch's root,
//! that root in the ledger's entry, the entry's hash, and the vote in the
//! entry's counts once they are public. The checks run in the browser, with
//! the same code as the server and `urna verify` (`api::ledger`).
use leptos::prelude::*;

#[cfg(feature = "hydrate")]
use crate::api;
use crate::api::Poll;
use crate::html::PageTitle;
use crate::i18n::{Texts, tr};
use crate::pages::in_browser;

/// Where the voting page keeps the last receipt of a poll on this device.
pub fn receipt_key(slug: &str) -> String {
    format!("urna:receipt:{slug}")
}

#[component]
pub fn VerifyPage() -> impl IntoView {
    crate::pages::poll_page(|poll| view! { <Checker poll/> })
}

/// One finding: whether it holds, and what it says.
type Finding = (bool, String);

#[component]
fn Checker(poll: Poll) -> impl IntoView {
    let t = tr();
    let text = RwSignal::new(String::new());
    let findings: RwSignal<Option<Vec<Finding>>> = RwSignal::new(None);
    let busy = RwSignal::new(false);
    {
        let slug = poll.slug.clone();
        in_browser(move || {
            if let Some(kept) = crate::browser::stored(&receipt_key(&slug)) {
                text.set(kept);
            }
        });
    }
    let heading = poll.title.clone();
    let page_title = poll.title.clone();
    let title = move || format!("{} · {}", t().verify_title, page_title);
    let vote_link = format!("/p/{}", poll.slug);
    let check = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let poll = poll.clone();
        leptos::task::spawn_local(async move {
            findings.set(Some(check_receipt(&poll, &text.get_untracked(), t()).await));
            busy.set(false);
        });
    };
    let verdict = move || findings.get().map(|f| if f.iter().all(|x| x.0) { "ok" } else { "bad" });
    view! {
        <PageTitle text=Signal::derive(title)/>
        <article class="card verify">
            <h1>{move || t().verify_title}</h1>
            <p class="description">{heading}</p>
            <p class="hint">{move || t().verify_explained}</p>
            <form on:submit=check>
                <label for="receipt">{move || t().your_receipt}</label>
                <textarea id="receipt" name="receipt" rows="10" spellcheck="false"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                <button type="submit" disabled=move || busy.get()>{move || t().check_receipt}</button>
            </form>
            <noscript><p class="feedback warn">{move || t().verify_needs_js}</p></noscript>
            <ul class="findings" data-testid="verify-result" data-verdict=verdict hidden=move || findings.get().is_none()>
                {move || findings.get().unwrap_or_default().into_iter().map(|(ok, what)| view! {
                    <li class=if ok { "ok" } else { "bad" }>{if ok { "✓ " } else { "✗ " }}{what}</li>
                }).collect_view()}
            </ul>
            <p class="links"><a href=vote_link>{move || t().back_to_vote}</a></p>
        </article>
    }
}

/// Checks a pasted receipt against the ledger; stops at the first finding
/// that does not hold.
#[cfg(feature = "hydrate")]
async fn check_receipt(poll: &Poll, pasted: &str, t: &'static Texts) -> Vec<Finding> {
    use ::api::ledger::{self as chain, LedgerPage, Receipt};

    use crate::i18n::fill;

    let mut out: Vec<Finding> = Vec::new();
    let parsed = serde_json::from_str::<serde_json::Value>(pasted.trim())
        .ok()
        .map(|v| v.get("receipt").cloned().unwrap_or(v))
        .and_then(|v| serde_json::from_value::<Receipt>(v).ok());
    let Some(r) = parsed else {
        out.push((false, t.receipt_unreadable.into()));
        return out;
    };
    if r.poll != poll.slug {
        out.push((false, fill(t.receipt_other_poll, &r.poll)));
        return out;
    }
    let Ok(root) = r.check_path() else {
        out.push((false, t.receipt_path_bad.into()));
        return out;
    };
    out.push((true, t.receipt_path_ok.into()));
    let shard = js_sys::encode_uri_component(&r.shard).as_string().unwrap_or_default();
    let url = format!("/api/polls/{}/ledger?shard={shard}&after={}&limit=1", poll.slug, r.seq - 1);
    let entry = match api::get::<LedgerPage>(&url).await {
        Ok(page) => page.entries.into_iter().next().filter(|e| e.seq == r.seq),
        Err(_) => None,
    };
    let Some(entry) = entry else {
        out.push((false, t.receipt_no_entry.into()));
        return out;
    };
    let Ok(counted) = r.against(&root, &entry) else {
        out.push((false, fill(t.receipt_root_bad, r.seq)));
        return out;
    };
    out.push((true, fill(t.receipt_root_ok, r.seq)));
    let Some(deltas) = entry.deltas else {
        out.push((true, t.receipt_counts_hidden.into()));
        return out;
    };
    let prev = chain::from_hex::<32>(&entry.prev_hash);
    let linked = prev.map(|p| {
        chain::to_hex(&chain::entry_hash(&p, entry.seq, &root, &deltas, entry.ballots.as_deref())) == entry.entry_hash
    });
    if linked != Some(true) {
        out.push((false, t.receipt_entry_hash_bad.into()));
        return out;
    }
    out.push((true, t.receipt_entry_hash_ok.into()));
    let name = |id: i64| poll.options.iter().find(|o| o.id == id).map_or_else(|| id.to_string(), |o| o.label.clone());
    // A ranking reads in its order ("Ana > Bruno"), a set as a list.
    let label = match &r.choices {
        Some(c) => c.iter().map(|id| name(*id)).collect::<Vec<_>>().join(if poll.kind == api::PollKind::Ranked {
            " > "
        } else {
            ", "
        }),
        None => name(r.option_id),
    };
    let counted = counted == chain::Counted::Yes;
    out.push((counted, fill(if counted { t.receipt_counted } else { t.receipt_not_counted }, label)));
    out
}

/// Only the browser checks receipts.
#[cfg(not(feature = "hydrate"))]
async fn check_receipt(_poll: &Poll, _pasted: &str, _t: &'static Texts) -> Vec<Finding> {
    Vec::new()
}
