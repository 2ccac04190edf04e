//! The live results dashboard, `/p/{slug}/live`: rendered with the results
//! of the moment, then kept current by the SSE stream.
use crate::html::PageTitle;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::{self, InstantRunoff, OptionCount, PollStatus, Problem, Results};
use crate::browser;
use crate::chart::{Bar, Bars, Curve};
use crate::i18n::{fill, tr};
use crate::pages::{PollMissing, StatusBadge};

#[component]
pub fn LivePage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let poll = Resource::new(slug, |s| api::sendable(api::load_poll(s)));
    let results = Resource::new(slug, |s| api::sendable(api::load_results(s)));
    let t = tr();
    view! {
        <Suspense fallback=move || view! { <p class="loading">{move || t().loading}</p> }>
            {move || Suspend::new(async move {
                match (poll.await, results.await) {
                    (Ok(p), initial) => view! {
                        <PageTitle text=format!("{} · {}", p.title, t().live_results)/>
                        <article class="card live">
                            <h1>{p.title.clone()}</h1>
                            <Dashboard slug=p.slug.clone() initial=Some(initial)/>
                            <Share slug=p.slug/>
                        </article>
                    }.into_any(),
                    (Err(_), _) => view! { <PollMissing/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Bars per track (and weighted, for several tracks), the totals, votes per
/// second and the vote curve, all following the SSE stream. `initial` is
/// what the server rendered with; `None` waits for the stream's first event
/// (the admin's view, rendered in the browser).
#[component]
pub fn Dashboard(slug: String, initial: Option<Result<Results, Problem>>) -> impl IntoView {
    let t = tr();
    let hidden = match &initial {
        Some(Err(p)) if p.status == 403 => Some(p.code.clone()),
        _ => None,
    };
    match hidden.as_deref() {
        Some("results-hidden-until-vote") => after_vote(slug),
        Some(code) => {
            let after_close = code == "results-hidden-until-close";
            view! {
                <p class="notice" data-testid="results-hidden">
                    {move || if after_close { t().results_after_close } else { t().results_admin_only }}
                </p>
            }
            .into_any()
        }
        None => live(slug, initial.and_then(Result::ok)),
    }
}

/// Results shown once this browser has voted: the page (the same for
/// everyone) says they are hidden; the browser then asks for them with
/// its cookies, and shows them if it voted.
fn after_vote(slug: String) -> AnyView {
    let t = tr();
    let got = RwSignal::new(None::<Results>);
    {
        let slug = slug.clone();
        crate::pages::in_browser(move || {
            let slug = slug.clone();
            leptos::task::spawn_local(async move {
                if let Ok(r) = api::load_results(slug).await {
                    got.set(Some(r));
                }
            });
        });
    }
    let vote_link = format!("/p/{slug}");
    view! {
        {move || match got.get() {
            Some(r) => live(slug.clone(), Some(r)),
            None => view! {
                <p class="notice" data-testid="results-hidden">
                    {move || t().results_after_vote}" "<a href=vote_link.clone()>{move || t().go_vote}</a>
                </p>
            }.into_any(),
        }}
    }
    .into_any()
}

/// The dashboard itself, from `initial` results (or the stream's first event).
fn live(slug: String, initial: Option<Results>) -> AnyView {
    let t = tr();
    let results = RwSignal::new(initial);
    let connected = RwSignal::new(false);
    let rate = RwSignal::new(0.0_f64);
    let curve = RwSignal::new(Vec::<(f64, f64)>::new());
    follow(slug, results, connected, rate, curve);

    let status = Signal::derive(move || results.with(|r| r.as_ref().map(|r| r.status).unwrap_or(PollStatus::Closed)));
    let total = move || results.with(|r| r.as_ref().map(|r| r.total_votes).unwrap_or(0));
    let as_of = move || {
        results.with(|r| match r.as_ref().and_then(|r| r.as_of) {
            Some(at) => fill(t().counted_up_to, browser::local_time(&at)),
            None => t().nothing_counted.to_owned(),
        })
    };
    let tracks = move || results.with(|r| r.as_ref().map(|r| r.tracks.clone()).unwrap_or_default());
    let weighted = move || {
        results.with(|r| {
            r.as_ref().filter(|r| r.tracks.len() > 1).map(|r| {
                r.weighted
                    .iter()
                    .map(|w| Bar { key: w.option_id, label: w.label.clone(), percent: w.percent, votes: None })
                    .collect::<Vec<_>>()
            })
        })
    };
    view! {
        <div class="dashboard">
            <div class="stats">
                <StatusBadge status/>
                <span class=move || if connected.get() { "stream on" } else { "stream off" } data-testid="stream-state">
                    {move || if connected.get() { t().stream_live } else { t().stream_reconnecting }}
                </span>
            </div>
            <dl class="kpis">
                <div><dt>{move || t().total_votes}</dt><dd data-testid="total-votes">{total}</dd></div>
                <div><dt>{move || t().votes_per_sec}</dt><dd data-testid="votes-per-sec">{move || format!("{:.0}", rate.get())}</dd></div>
            </dl>
            <p class="as-of" data-testid="as-of">{as_of}</p>
            {move || weighted().map(|bars| view! {
                <Bars bars=Signal::derive(move || bars.clone()) caption=Signal::derive(move || t().weighted_result.to_owned())/>
            })}
            <For each=tracks key=|tr| tr.id let:track>
                {
                    let id = track.id;
                    let several = Signal::derive(move || results.with(|r| r.as_ref().is_some_and(|r| r.tracks.len() > 1)));
                    let bars = Signal::derive(move || {
                        results.with(|r| {
                            r.as_ref()
                                .and_then(|r| r.tracks.iter().find(|t| t.id == id))
                                .map(|t| t.options.iter().map(|o| Bar { key: o.option_id, label: o.label.clone(), percent: o.percent, votes: Some(o.votes) }).collect())
                                .unwrap_or_default()
                        })
                    });
                    let name = crate::pages::track_title(&track.name);
                    let weight = track.weight;
                    let ranked = track.instant_runoff.is_some();
                    let caption = Signal::derive(move || {
                        let what = if ranked { t().first_preferences } else { t().live_results };
                        if several.get() { format!("{} · {} · {}", name, fill(t().weight, weight), what) } else { what.to_owned() }
                    });
                    let this = move || results.with(|r| r.as_ref().and_then(|r| r.tracks.iter().find(|t| t.id == id).cloned()));
                    let ballots = move || this().map(|t| t.ballots).unwrap_or(0);
                    // Ballots differ from the bars' sum only for several choices.
                    let show_ballots = move || this().is_some_and(|t| t.ballots != t.total);
                    view! {
                        <Bars bars caption/>
                        <p class="ballots" hidden=move || !show_ballots()>
                            {move || t().ballots_count} ": " <span data-testid="ballots">{ballots}</span>
                        </p>
                        {move || this().and_then(|t| t.instant_runoff.clone().map(|r| view! { <Runoff runoff=r options=t.options.clone()/> }))}
                    }
                }
            </For>
            <Curve points=curve caption=Signal::derive(move || t().vote_curve.to_owned())/>
        </div>
    }
    .into_any()
}

/// A ranked track's instant runoff: the winner, then each round's count and
/// who went out.
#[component]
fn Runoff(runoff: InstantRunoff, options: Vec<OptionCount>) -> impl IntoView {
    let t = tr();
    let label = move |id: i64| options.iter().find(|o| o.option_id == id).map(|o| o.label.clone()).unwrap_or_default();
    let winner = runoff.winner.map(&label);
    let rounds = runoff.rounds.iter().enumerate().map(|(n, r)| {
        let out: Vec<String> = r.eliminated.iter().map(|id| label(*id)).collect();
        let rows: Vec<(String, i64)> = r.counts.iter().map(|c| (label(c.option_id), c.votes)).collect();
        (n + 1, rows, out.join(", "), r.exhausted)
    });
    view! {
        <section class="runoff" data-testid="runoff">
            <h3>{move || t().runoff_title}</h3>
            {winner.map(|w| view! { <p class="winner" data-testid="runoff-winner">{move || fill(t().runoff_winner, &w)}</p> })}
            <ol class="rounds">
                {rounds.map(|(n, rows, out, exhausted)| view! {
                    <li data-testid="runoff-round">
                        <h4>{move || fill(t().runoff_round, n)}</h4>
                        <table>
                            <tbody>
                                {rows.into_iter().map(|(label, votes)| view! { <tr><th scope="row">{label}</th><td>{votes}</td></tr> }).collect_view()}
                            </tbody>
                        </table>
                        {(!out.is_empty()).then(|| view! { <p class="eliminated">{move || fill(t().runoff_eliminated, &out)}</p> })}
                        {(exhausted > 0).then(|| view! { <p class="hint">{move || fill(t().runoff_exhausted, exhausted)}</p> })}
                    </li>
                }).collect_view()}
            </ol>
            <p class="hint">{move || t().runoff_rule}</p>
        </section>
    }
}

/// Subscribes to the results stream and keeps the rate and the curve.
#[allow(unused_variables)]
pub(crate) fn follow(
    slug: String,
    results: RwSignal<Option<Results>>,
    connected: RwSignal<bool>,
    rate: RwSignal<f64>,
    curve: RwSignal<Vec<(f64, f64)>>,
) {
    #[cfg(feature = "hydrate")]
    crate::pages::in_browser(move || {
        use std::collections::VecDeque;
        /// Votes per second are measured over this window.
        const RATE_WINDOW_MS: f64 = 5000.0;
        /// The curve keeps at most this many points; older ones thin out.
        const CURVE_POINTS: usize = 600;

        let samples = StoredValue::new(VecDeque::<(f64, i64)>::new());
        let sample = move |total: i64| {
            let now = browser::now_ms();
            let per_sec = samples
                .try_update_value(|s| {
                    s.push_back((now, total));
                    while s.front().is_some_and(|(t, _)| now - t > RATE_WINDOW_MS) {
                        s.pop_front();
                    }
                    match (s.front(), s.back()) {
                        (Some(a), Some(b)) if b.0 - a.0 >= 900.0 => (b.1 - a.1) as f64 * 1000.0 / (b.0 - a.0),
                        _ => 0.0,
                    }
                })
                .unwrap_or(0.0);
            rate.set(per_sec.max(0.0));
            curve.update(|c| {
                push_point(c, (now / 1000.0, total as f64));
                if c.len() > CURVE_POINTS {
                    *c = c.iter().enumerate().filter(|(i, _)| i % 2 == 0).map(|(_, p)| *p).collect();
                }
            });
        };

        // The curve starts with the poll's history.
        {
            let slug = slug.clone();
            leptos::task::spawn_local(async move {
                if let Ok(ts) = api::get::<api::Timeseries>(&format!("/api/polls/{slug}/timeseries")).await {
                    // Cumulative, from zero at the first bucket's start.
                    let mut sum = 0_i64;
                    let start = ts.points.first().map(|(at, _)| (*at as f64, 0.0));
                    let history: Vec<(f64, f64)> = start
                        .into_iter()
                        .chain(ts.points.iter().map(|(at, n)| {
                            sum += n;
                            ((at + ts.bucket_secs) as f64, sum as f64)
                        }))
                        .collect();
                    curve.update(|c| {
                        // A bucket ends in the future while it fills: place it
                        // at its last vote's latest possible time, now.
                        let now = browser::now_ms() / 1000.0;
                        let first_live = c.first().map(|p| p.0).unwrap_or(f64::MAX);
                        let mut merged = Vec::with_capacity(history.len() + c.len());
                        for (at, n) in history {
                            let at = at.min(now);
                            if at < first_live {
                                push_point(&mut merged, (at, n));
                            }
                        }
                        for p in c.drain(..) {
                            push_point(&mut merged, p);
                        }
                        *c = merged;
                    });
                }
            });
        }

        let stream = browser::LiveStream::open(
            format!("/api/polls/{slug}/results/stream"),
            move |data| {
                if let Ok(r) = serde_json::from_str::<Results>(&data) {
                    results.set(Some(r));
                }
            },
            move |up| connected.set(up),
        );
        // A sample a second, so the rate falls back to zero when votes stop.
        let tick = set_interval_with_handle(
            move || sample(results.with_untracked(|r| r.as_ref().map(|r| r.total_votes).unwrap_or(0))),
            std::time::Duration::from_secs(1),
        )
        .ok();
        let guard = send_wrapper::SendWrapper::new(stream);
        on_cleanup(move || {
            drop(guard);
            if let Some(t) = tick {
                t.clear();
            }
        });
    });
}

/// Appends a point, keeping the curve's times strictly increasing.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn push_point(curve: &mut Vec<(f64, f64)>, p: (f64, f64)) {
    while curve.last().is_some_and(|l| l.0 >= p.0) {
        curve.pop();
    }
    curve.push(p);
}

/// The voting page's address, as a link and as a QR code.
#[component]
fn Share(slug: String) -> impl IntoView {
    let t = tr();
    let path = format!("/p/{slug}");
    let origin = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(o) = browser::origin() {
            origin.set(o);
        }
    });
    let shown = {
        let path = path.clone();
        move || format!("{}{}", origin.get(), path)
    };
    view! {
        <aside class="share">
            <img class="qr" src=format!("/p/{slug}/qr.svg") width="168" height="168" alt=move || t().qr_alt/>
            <div>
                <p>{move || t().share}</p>
                <a href=path data-testid="share-link">{shown}</a>
            </div>
        </aside>
    }
}
