//! `/p/{slug}/present`: the poll on a stage or TV screen. Full screen, a
//! large QR code and short link, large bars with the options' images, read
//! from ten metres. Live results follow the stream and glide to each new
//! value. Hidden results stay hidden until an admin's reveal, which every
//! screen counts up to at the same moment: the reveal names a moment a few
//! seconds ahead (`revealed_at`), and each screen, looking for it every
//! second, starts at that moment by its own clock (screens keep time by
//! NTP; a screen whose clock is off starts off by as much).
use crate::html::PageTitle;
use leptos::prelude::*;

use crate::api::{Poll, PollOption, Results, Visibility};
use crate::browser;
use crate::i18n::{fill, tr};

/// How long the count-up of a reveal lasts.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const COUNT_UP_MS: f64 = 3000.0;

#[component]
pub fn PresentPage() -> impl IntoView {
    crate::pages::poll_page(|poll| view! { <Presenter poll/> })
}

#[component]
fn Presenter(poll: Poll) -> impl IntoView {
    let t = tr();
    let results = RwSignal::new(None::<Results>);
    // 0 → 1 while a reveal counts up; 1 for live results.
    let progress = RwSignal::new(1.0_f64);
    let live = poll.results_visibility == Visibility::Live;
    let hidden = RwSignal::new(!live);
    if live {
        let (connected, rate, curve) = (RwSignal::new(false), RwSignal::new(0.0), RwSignal::new(Vec::new()));
        crate::pages::live::follow(poll.slug.clone(), results, connected, rate, curve);
    } else {
        wait_for_reveal(poll.slug.clone(), poll.revealed_at, results, progress, hidden);
    }
    let path = format!("/p/{}", poll.slug);
    let origin = RwSignal::new(String::new());
    crate::pages::in_browser(move || origin.set(browser::origin().unwrap_or_default()));
    let short = {
        let path = path.clone();
        move || format!("{}{}", origin.get().trim_start_matches("https://").trim_start_matches("http://"), path)
    };
    let options = poll.options.clone();
    let total = move || {
        let n = results.with(|r| r.as_ref().map_or(0, |r| r.total_votes));
        (n as f64 * progress.get()).round() as i64
    };
    view! {
        <PageTitle text=poll.title.clone()/>
        <div class="presenter" data-testid="presenter">
            <header>
                <h1>{poll.title}</h1>
                <p class="p-total" hidden=move || hidden.get()>
                    <span data-testid="present-total">{total}</span>" "{move || t().votes}
                </p>
            </header>
            <div class="p-body">
                <ol class="p-bars">
                    {options.into_iter().enumerate().map(|(i, o)| view! { <PresenterBar i option=o results progress hidden/> }).collect_view()}
                </ol>
                <aside class="p-share">
                    <img src=format!("{path}/qr.svg") alt=move || t().qr_alt/>
                    <p class="p-link" data-testid="present-link">{short}</p>
                    <p class="p-waiting" hidden=move || !hidden.get() data-testid="present-waiting">{move || t().present_waiting}</p>
                </aside>
            </div>
        </div>
    }
}

/// One option: its image, its label and, once shown, its bar and numbers.
#[component]
fn PresenterBar(
    i: usize,
    option: PollOption,
    results: RwSignal<Option<Results>>,
    progress: RwSignal<f64>,
    hidden: RwSignal<bool>,
) -> impl IntoView {
    let t = tr();
    let id = option.id;
    // One track: its counts; several: the weighted share.
    let share = move || {
        results.with(|r| {
            let r = r.as_ref()?;
            match r.tracks.as_slice() {
                [one] => one.options.iter().find(|o| o.option_id == id).map(|o| (o.percent, Some(o.votes))),
                _ => r.weighted.iter().find(|w| w.option_id == id).map(|w| (w.percent, None)),
            }
        })
    };
    let percent = move || share().map_or(0.0, |(p, _)| p) * progress.get();
    let votes = move || share().and_then(|(_, v)| v).map(|v| (v as f64 * progress.get()).round() as i64);
    view! {
        <li class=format!("p-row c{}", i % 8) data-option=id>
            {option.image_url.clone().map(|src| view! { <img class="p-img" src=src alt=""/> })}
            <div class="p-main">
                <div class="p-label">
                    <span>{option.label}</span>
                    <span class="p-nums" hidden=move || hidden.get()>
                        <strong>{move || format!("{:.1}%", percent())}</strong>
                        {move || votes().map(|v| view! { <small data-testid="present-votes">{fill(t().n_votes, v)}</small> })}
                    </span>
                </div>
                <div class="p-track"><div class="p-fill" style:width=move || format!("{:.2}%", if hidden.get() { 0.0 } else { percent() })></div></div>
            </div>
        </li>
    }
}

/// Looks for the reveal each second; at its moment fetches the results
/// (public from then on) and counts up to them.
#[allow(unused_variables)]
fn wait_for_reveal(
    slug: String,
    revealed_at: Option<chrono::DateTime<chrono::Utc>>,
    results: RwSignal<Option<Results>>,
    progress: RwSignal<f64>,
    hidden: RwSignal<bool>,
) {
    #[cfg(feature = "hydrate")]
    crate::pages::in_browser(move || {
        let slug = slug.clone();
        leptos::task::spawn_local(async move {
            let mut at = revealed_at;
            while at.is_none() {
                browser::sleep(1000).await;
                if let Ok(p) = crate::api::get::<Poll>(&format!("/api/polls/{slug}")).await {
                    at = p.revealed_at;
                }
            }
            let at_ms = at.map_or(0.0, |a| a.timestamp_millis() as f64);
            let wait = (at_ms - browser::now_ms()).max(0.0);
            browser::sleep(wait as u32).await;
            // Already past (a screen opened after the reveal): no count-up.
            let late = browser::now_ms() - at_ms > COUNT_UP_MS;
            let Ok(r) = crate::api::get::<Results>(&format!("/api/polls/{slug}/results")).await else { return };
            results.set(Some(r));
            progress.set(if late { 1.0 } else { 0.0 });
            hidden.set(false);
            let start = browser::now_ms();
            while progress.get_untracked() < 1.0 {
                browser::sleep(33).await;
                let x = ((browser::now_ms() - start) / COUNT_UP_MS).min(1.0);
                // Ease out: fast at first, settling on the final number.
                progress.set(1.0 - (1.0 - x).powi(3));
            }
        });
    });
}
