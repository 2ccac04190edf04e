//! Charts as plain SVG: bars per option and the vote curve. No chart
//! library, nothing to download.
use leptos::prelude::*;

/// One bar: a label, its share in percent, and a count when there is one.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub key: i64,
    pub label: String,
    pub percent: f64,
    pub votes: Option<i64>,
}

/// Colours of the bars, by option position; chosen for contrast on both
/// light and dark backgrounds.
const PALETTE: [&str; 8] = ["#2563eb", "#db2777", "#16a34a", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04", "#dc2626"];

/// Horizontal bars, one row per option, each with its percentage and votes.
#[component]
pub fn Bars(#[prop(into)] bars: Signal<Vec<Bar>>, #[prop(into)] caption: Signal<String>) -> impl IntoView {
    let votes_word = {
        let t = crate::i18n::tr();
        move || t().votes
    };
    view! {
        <figure class="bars">
            <figcaption>{caption}</figcaption>
            <ul>
                {move || {
                    bars.get()
                        .into_iter()
                        .enumerate()
                        .map(|(i, bar)| {
                            let colour = PALETTE.get(i % PALETTE.len()).copied().unwrap_or("#888");
                            let width = bar.percent.clamp(0.0, 100.0);
                            view! {
                                <li class="bar-row" data-option=bar.key>
                                    <span class="bar-label">{bar.label.clone()}</span>
                                    <svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" role="img"
                                        aria-label=format!("{}: {:.1}%", bar.label, bar.percent)>
                                        <rect class="bar-track" x="0" y="0" width="100" height="8" rx="1.5"/>
                                        <rect x="0" y="0" width=format!("{width:.2}") height="8" rx="1.5" fill=colour/>
                                    </svg>
                                    <span class="bar-percent">{format!("{:.1}%", bar.percent)}</span>
                                    {bar.votes.map(|v| view! {
                                        <span class="bar-votes" data-testid="option-votes">{v}</span>
                                        <span class="bar-votes-word">{votes_word}</span>
                                    })}
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </figure>
    }
}

/// The vote curve: votes per bucket over time, as an SVG polyline with
/// the area under it filled.
#[component]
pub fn Curve(#[prop(into)] points: Signal<Vec<(f64, f64)>>, #[prop(into)] caption: Signal<String>) -> impl IntoView {
    const W: f64 = 600.0;
    const H: f64 = 160.0;
    let path = move || {
        let pts = points.get();
        let (Some(first), Some(last)) = (pts.first(), pts.last()) else {
            return (String::new(), String::new(), 0.0);
        };
        if pts.len() < 2 {
            return (String::new(), String::new(), 0.0);
        }
        let (x0, x1) = (first.0, last.0);
        let ymax = pts.iter().map(|p| p.1).fold(0.0_f64, f64::max).max(1.0);
        let span = (x1 - x0).max(1.0);
        let coords: Vec<String> =
            pts.iter().map(|(x, y)| format!("{:.1},{:.1}", (x - x0) / span * W, H - y / ymax * (H - 8.0))).collect();
        let line = coords.join(" ");
        let area = format!("0,{H} {line} {W},{H}");
        (line, area, ymax)
    };
    view! {
        <figure class="curve">
            <figcaption>{caption}</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") preserveAspectRatio="none" role="img" aria-label=caption>
                <polygon class="curve-area" points=move || path().1/>
                <polyline class="curve-line" points=move || path().0 fill="none"/>
            </svg>
        </figure>
    }
}
