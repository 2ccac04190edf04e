//! The voting page, `/p/{slug}`: phone-first, one tap per vote, a distinct
//! answer for every outcome of the vote API. Without JavaScript each option
//! is a plain form posted to `/p/{slug}/vote`, which answers with a redirect
//! back here carrying `?outcome=`.
use crate::html::PageTitle;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[cfg(any(feature = "hydrate", feature = "ssr"))]
use crate::api;
use crate::api::{Dedupe, Poll, PollKind, PollOption, PollStatus, Pow, Track, Visibility};
use crate::browser;
use crate::i18n::{Texts, fill, tr};
use crate::pages::StatusBadge;

/// Where a vote stands, as the voter is told.
#[derive(Clone, Debug, PartialEq)]
pub enum Feedback {
    Sending,
    Recorded {
        again: bool,
    },
    Accepted,
    AlreadyVoted,
    NotOpenYet(Option<chrono::DateTime<chrono::Utc>>),
    Closed,
    Retrying(u32),
    GaveUp,
    NeedToken,
    OptionGone,
    Network,
    /// Solving the proof of work takes a moment (shown after 300 ms only).
    Checking,
    /// The no-JavaScript form cannot vote on a poll with proof of work.
    NeedsJavaScript,
    InviteInvalid,
    /// A ballot with fewer options than the poll asks for.
    TooFew,
    TooMany,
    Repeated,
}

impl Feedback {
    /// From the `?outcome=` of the no-JavaScript form's redirect.
    pub fn from_outcome(code: &str, again: bool) -> Option<Feedback> {
        Some(match code {
            "recorded" => Feedback::Recorded { again },
            "accepted" => Feedback::Accepted,
            "already-voted" => Feedback::AlreadyVoted,
            "poll-not-open" => Feedback::NotOpenYet(None),
            "poll-closed" => Feedback::Closed,
            "rate-limited"
            | "draining"
            | "overloaded"
            | "vote-not-stored"
            | "vote-outcome-unknown"
            | "storage-unavailable" => Feedback::GaveUp,
            "voter-credential-required" | "voter-token-invalid" => Feedback::NeedToken,
            "poll-not-found" | "option-not-found" | "track-not-found" | "unknown-choice" | "wrong-ballot-kind" => {
                Feedback::OptionGone
            }
            "pow-required" | "pow-invalid" | "pow-reused" => Feedback::NeedsJavaScript,
            "invite-invalid" => Feedback::InviteInvalid,
            "too-few-choices" => Feedback::TooFew,
            "too-many-choices" => Feedback::TooMany,
            "repeated-choice" => Feedback::Repeated,
            _ => return None,
        })
    }

    fn class(&self) -> &'static str {
        match self {
            Feedback::Sending | Feedback::Retrying(_) | Feedback::Checking => "feedback info",
            Feedback::Recorded { .. } | Feedback::Accepted => "feedback ok",
            Feedback::AlreadyVoted
            | Feedback::NotOpenYet(_)
            | Feedback::TooFew
            | Feedback::TooMany
            | Feedback::Repeated => "feedback warn",
            _ => "feedback error",
        }
    }

    /// Stable name for tests and styling.
    fn code(&self) -> &'static str {
        match self {
            Feedback::Sending => "sending",
            Feedback::Recorded { .. } => "recorded",
            Feedback::Accepted => "accepted",
            Feedback::AlreadyVoted => "already-voted",
            Feedback::NotOpenYet(_) => "not-open",
            Feedback::Closed => "closed",
            Feedback::Retrying(_) => "retrying",
            Feedback::GaveUp => "gave-up",
            Feedback::NeedToken => "need-token",
            Feedback::OptionGone => "option-gone",
            Feedback::Network => "network",
            Feedback::Checking => "checking",
            Feedback::NeedsJavaScript => "needs-javascript",
            Feedback::InviteInvalid => "invite-invalid",
            Feedback::TooFew => "too-few-choices",
            Feedback::TooMany => "too-many-choices",
            Feedback::Repeated => "repeated-choice",
        }
    }

    fn text(&self, t: &Texts) -> String {
        match self {
            Feedback::Sending => t.sending.into(),
            Feedback::Recorded { again: true } => t.recorded_again.into(),
            Feedback::Recorded { again: false } => t.recorded.into(),
            Feedback::Accepted => t.accepted.into(),
            Feedback::AlreadyVoted => t.already_voted.into(),
            Feedback::NotOpenYet(Some(at)) => {
                format!("{} {}", t.not_open_yet, fill(t.opens_at, browser::local_datetime(at)))
            }
            Feedback::NotOpenYet(None) => t.not_open_yet.into(),
            Feedback::Closed => t.closed.into(),
            Feedback::Retrying(secs) => fill(t.busy_retrying, secs),
            Feedback::GaveUp => t.gave_up.into(),
            Feedback::NeedToken => t.need_token.into(),
            Feedback::OptionGone => t.option_gone.into(),
            Feedback::Network => t.network_error.into(),
            Feedback::Checking => t.checking_robot.into(),
            Feedback::NeedsJavaScript => t.needs_javascript.into(),
            Feedback::InviteInvalid => t.invite_invalid.into(),
            Feedback::TooFew => t.too_few_choices.into(),
            Feedback::TooMany => t.too_many_choices.into(),
            Feedback::Repeated => t.repeated_choice.into(),
        }
    }

    /// After this answer the voter may not vote again on a one-per-voter track.
    fn ends_voting(&self) -> bool {
        matches!(self, Feedback::Recorded { .. } | Feedback::Accepted | Feedback::AlreadyVoted)
    }
}

/// The page is the same for every reader (the server renders it once per
/// poll state and language): a voter cookie, where the poll needs one,
/// comes from the poll's API answer, which the page asks for as it starts.
#[component]
pub fn VotePage() -> impl IntoView {
    crate::pages::poll_page(|poll| view! { <Ballot poll/> })
}

/// `/p/{slug}/embed`: the ballot alone, compact, for an iframe on a host's
/// page (which the poll's `embed_origins` must name). Links open urna in a
/// new tab, never inside the frame.
#[component]
pub fn EmbedPage() -> impl IntoView {
    crate::pages::poll_page(|poll| view! { <Ballot poll embedded=true/> })
}

#[component]
fn Ballot(poll: Poll, #[prop(optional)] embedded: bool) -> impl IntoView {
    let t = tr();
    let several = poll.tracks.len() > 1;
    let live_link = format!("/p/{}/live", poll.slug);
    let show_results = matches!(poll.results_visibility, Visibility::Live | Visibility::AfterVote)
        || poll.status == PollStatus::Closed;
    let status = poll.status;
    let opens_at = poll.opens_at;
    let closes_at = poll.closes_at;
    let tracks = poll.tracks.clone();
    let title = poll.title.clone();
    let pow = poll.pow;
    let rule = (poll.kind, poll.min_choices, poll.max_choices);
    let needs_cookie = poll.voter_identity == api::VoterIdentity::Cookie
        && poll.tracks.iter().any(|t| t.dedupe == Dedupe::OnePerVoter);
    {
        let slug = poll.slug.clone();
        crate::pages::in_browser(move || {
            if needs_cookie {
                guard::fetch_voter_cookie(&slug);
            }
            browser::keep_param_for_visit("invite", &invite_key(&slug));
            if pow != Pow::Off {
                guard::prefetch(&slug);
            }
        });
    }
    view! {
        <PageTitle text=title.clone()/>
        <article class=if embedded { "card ballot embedded" } else { "card ballot" }>
            <h1>{title}</h1>
            <StatusBadge status/>
            {(!poll.description.is_empty()).then(|| view! { <p class="description">{poll.description.clone()}</p> })}
            {(status == PollStatus::Scheduled).then(|| opens_at.map(|at| view! {
                <p class="schedule">{move || fill(t().opens_at, browser::local_datetime(&at))}</p>
            }))}
            {(status == PollStatus::Open).then(|| closes_at.map(|at| view! {
                <p class="schedule">{move || fill(t().closes_at, browser::local_datetime(&at))}</p>
            }))}
            {tracks
                .into_iter()
                .map(|track| view! { <TrackBallot slug=poll.slug.clone() track options=poll.options.clone() several pow rule/> })
                .collect_view()}
            {(pow != Pow::Off).then(|| view! { <noscript><p class="feedback warn">{move || t().needs_javascript}</p></noscript> })}
            {show_results.then(|| view! {
                <p class="links"><a href=live_link target=embedded.then_some("_blank")>{move || t().see_results}</a></p>
            })}
            {embedded.then(|| view! {
                <p class="embed-brand"><a href=format!("/p/{}", poll.slug) target="_blank" rel="noopener">"urna"</a></p>
            })}
        </article>
    }
}

/// The ballot of one track: for `single` polls each option a one-tap vote;
/// for `multiple` polls checkboxes; for `ranked` polls one select per
/// place. Each is a plain form that votes without JavaScript too.
#[component]
fn TrackBallot(
    slug: String,
    track: Track,
    options: Vec<PollOption>,
    several: bool,
    pow: Pow,
    rule: (PollKind, u32, u32),
) -> impl IntoView {
    let t = tr();
    let query = use_query_map();
    let once = track.dedupe == Dedupe::OnePerVoter;
    let voted_key = format!("urna:voted:{slug}:{}", track.id);
    // The no-JavaScript form's redirect says how its vote went.
    let from_form = query.with_untracked(|q| {
        let for_us = q.get("track").is_none_or(|id| id == track.id.to_string());
        q.get("outcome").filter(|_| for_us).and_then(|c| Feedback::from_outcome(&c, !once))
    });
    let feedback = RwSignal::new(from_form.clone());
    // The receipt of the vote just recorded, as JSON to keep.
    let receipt: RwSignal<Option<String>> = RwSignal::new(None);
    let verify_link = format!("/p/{slug}/verify");
    let voted = RwSignal::new(once && from_form.as_ref().is_some_and(Feedback::ends_voting));
    let busy = RwSignal::new(false);
    // The form's answer comes back in the page's language.
    let action = format!("/p/{slug}/vote?lang={}", crate::i18n::use_lang().get_untracked().tag());
    {
        let key = voted_key.clone();
        Effect::new(move |_| {
            if once && browser::stored(&key).is_some() {
                voted.set(true);
            }
        });
    }
    let track_id = track.id;
    // The ballot's JSON (`option_id`, `option_ids` or `ranking`).
    let vote = move |mut body: serde_json::Value| {
        if busy.get_untracked() || voted.get_untracked() {
            return;
        }
        busy.set(true);
        feedback.set(Some(Feedback::Sending));
        let slug = slug.clone();
        let key = voted_key.clone();
        if let Some(fields) = body.as_object_mut() {
            fields.insert("track".into(), track_id.into());
        }
        let body = body.to_string();
        leptos::task::spawn_local(async move {
            let result = cast(&slug, body, !once, pow, feedback, receipt).await;
            if pow != Pow::Off {
                guard::prefetch(&slug);
            }
            if once && result.ends_voting() {
                browser::store(&key, "1");
                voted.set(true);
            }
            feedback.set(Some(result));
            busy.set(false);
        });
    };
    view! {
        <section class="track" data-track=track.id>
            {several.then(|| view! { <h2>{crate::pages::track_title(&track.name)}</h2> })}
            <p class="hint">{move || if once { t().track_once } else { t().track_unlimited }}</p>
            {match rule.0 {
                PollKind::Single => view! {
                    <ul class="options">
                        {options
                            .into_iter()
                            .map(|o| {
                                let label = o.label.clone();
                                let aria = move || fill(t().vote_for, &label);
                                let vote = vote.clone();
                                view! {
                                    <li>
                                        <form method="post" action=action.clone() class="option-form"
                                            on:submit=move |ev| { ev.prevent_default(); vote(serde_json::json!({ "option_id": o.id })); }>
                                            <input type="hidden" name="option_id" value=o.id/>
                                            <input type="hidden" name="track" value=track.id/>
                                            <button type="submit" class="option" aria-label=aria
                                                disabled=move || busy.get() || voted.get()>
                                                {o.image_url.clone().map(|src| view! { <img src=src alt="" loading="lazy"/> })}
                                                <span>{o.label.clone()}</span>
                                            </button>
                                        </form>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }.into_any(),
                PollKind::Multiple => view! {
                    <Choices action track=track.id options rule busy voted vote/>
                }.into_any(),
                PollKind::Ranked => view! {
                    <Ranking action track=track.id options rule busy voted vote/>
                }.into_any(),
            }}
            <p class="voted" hidden=move || !voted.get()>{move || t().you_have_voted}</p>
            <p role="status" aria-live="polite" data-testid="vote-feedback"
                data-outcome=move || feedback.get().map(|f| f.code())
                class=move || feedback.get().map(|f| f.class()).unwrap_or("feedback")>
                {move || feedback.get().map(|f| f.text(t()))}
            </p>
            {move || receipt.get().map(|r| view! { <ReceiptBox receipt=r verify_link=verify_link.clone()/> })}
        </section>
    }
}

/// The limits of a ballot, as a hint: "Choose up to 3 options."
fn choices_hint(t: &Texts, (_, min, max): (PollKind, u32, u32)) -> String {
    if min <= 1 { fill(t.choose_up_to, max) } else { fill(&fill(t.choose_between, min), max) }
}

/// True once the page runs in the browser: what only scripts enforce (a
/// disabled button) waits for it, so the page without JavaScript still
/// submits.
fn hydrated() -> RwSignal<bool> {
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
    ready
}

/// A `multiple` ballot: checkboxes, no more than the poll's most.
#[component]
fn Choices(
    action: String,
    track: i64,
    options: Vec<PollOption>,
    rule: (PollKind, u32, u32),
    busy: RwSignal<bool>,
    voted: RwSignal<bool>,
    vote: impl Fn(serde_json::Value) + Clone + 'static,
) -> impl IntoView {
    let t = tr();
    let chosen = RwSignal::new(Vec::<i64>::new());
    let ready = hydrated();
    let (min, max) = (rule.1 as usize, rule.2 as usize);
    view! {
        <form method="post" action=action class="ballot-form"
            on:submit=move |ev| { ev.prevent_default(); vote(serde_json::json!({ "option_ids": chosen.get_untracked() })); }>
            <input type="hidden" name="track" value=track/>
            <p class="hint">{move || choices_hint(t(), rule)}</p>
            <ul class="options choices">
                {options.into_iter().map(|o| {
                    let id = o.id;
                    view! {
                        <li>
                            <label class="option choice">
                                <input type="checkbox" name="option_ids" value=id
                                    prop:checked=move || chosen.with(|c| c.contains(&id))
                                    disabled=move || busy.get() || voted.get() || chosen.with(|c| !c.contains(&id) && c.len() >= max)
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update(|c| {
                                            c.retain(|x| *x != id);
                                            if on { c.push(id) }
                                        });
                                    }/>
                                {o.image_url.clone().map(|src| view! { <img src=src alt="" loading="lazy"/> })}
                                <span>{o.label}</span>
                            </label>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <button type="submit" class="primary"
                disabled=move || busy.get() || voted.get() || (ready.get() && chosen.with(|c| c.len() < min))>
                {move || t().cast_ballot}
            </button>
        </form>
    }
}

/// A `ranked` ballot: one select per place, most preferred first; an
/// option chosen in one place is not offered in another.
#[component]
fn Ranking(
    action: String,
    track: i64,
    options: Vec<PollOption>,
    rule: (PollKind, u32, u32),
    busy: RwSignal<bool>,
    voted: RwSignal<bool>,
    vote: impl Fn(serde_json::Value) + Clone + 'static,
) -> impl IntoView {
    let t = tr();
    let places: Vec<RwSignal<Option<i64>>> = (0..rule.2).map(|_| RwSignal::new(None)).collect();
    let ready = hydrated();
    let min = rule.1 as usize;
    let ranking = {
        let places = places.clone();
        move || places.iter().filter_map(|p| p.get()).collect::<Vec<i64>>()
    };
    let submit = {
        let ranking = ranking.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            vote(serde_json::json!({ "ranking": ranking() }));
        }
    };
    view! {
        <form method="post" action=action class="ballot-form" on:submit=submit>
            <input type="hidden" name="track" value=track/>
            <p class="hint">{move || t().rank_hint} " " {move || choices_hint(t(), rule)}</p>
            <ol class="ranking">
                {places.iter().enumerate().map(|(i, &place)| {
                    let others = places.clone();
                    let options = options.clone();
                    view! {
                        <li>
                            <label>{move || fill(t().rank_place, i + 1)}
                                <select name="ranking" disabled=move || busy.get() || voted.get()
                                    on:change=move |ev| place.set(event_target_value(&ev).parse().ok())>
                                    <option value="" selected=move || place.get().is_none()>{move || t().not_ranked}</option>
                                    {options.into_iter().map(|o| {
                                        let id = o.id;
                                        let others = others.clone();
                                        let taken = move || others.iter().enumerate().any(|(j, p)| j != i && p.get() == Some(id));
                                        view! { <option value=id disabled=taken>{o.label}</option> }
                                    }).collect_view()}
                                </select>
                            </label>
                        </li>
                    }
                }).collect_view()}
            </ol>
            <button type="submit" class="primary"
                disabled=move || busy.get() || voted.get() || (ready.get() && ranking().len() < min)>
                {move || t().cast_ballot}
            </button>
        </form>
    }
}

/// "Check my vote": the receipt of a recorded vote, to keep and check
/// against the public ledger.
#[component]
fn ReceiptBox(receipt: String, verify_link: String) -> impl IntoView {
    let t = tr();
    let text = receipt.clone();
    view! {
        <details class="receipt" data-testid="receipt">
            <summary>{move || t().check_my_vote}</summary>
            <p class="hint">{move || t().receipt_explained}</p>
            <textarea readonly rows="6" aria-label=move || t().your_receipt data-testid="receipt-text">{receipt}</textarea>
            <p class="links">
                <crate::pages::CopyButton text label=|t| t.copy_receipt class="secondary"/>
                <a href=verify_link>{move || t().verify_a_vote}</a>
            </p>
        </details>
    }
}

/// Posts one vote, retrying on its own while the server says it is busy
/// (429/503): it waits at least `Retry-After`, doubling from one second,
/// with jitter so a crowd does not come back in step.
#[cfg(feature = "hydrate")]
async fn cast(
    slug: &str,
    body: String,
    unlimited: bool,
    pow: Pow,
    feedback: RwSignal<Option<Feedback>>,
    receipt: RwSignal<Option<String>>,
) -> Feedback {
    const ATTEMPTS: u32 = 6;
    // One key per click, kept for this click's own retries: however often
    // it is sent, the vote counts once.
    let mut key = guard::idempotency_key();
    let invite = browser::session_value(&invite_key(slug));
    let mut proof: Option<String> = None;
    let mut solved_again = false;
    let mut asked_for_cookie = false;
    let url = format!("/api/polls/{slug}/votes");
    let token = browser::query_param("voter_token").or_else(|| browser::stored("urna:voter-token"));
    if let Some(tok) = &token {
        browser::store("urna:voter-token", tok);
    }
    let mut backoff_ms = 1000.0_f64;
    for attempt in 1..=ATTEMPTS {
        if pow != Pow::Off && proof.is_none() {
            proof = guard::solved(slug, feedback).await;
        }
        let mut headers: Vec<(&str, &str)> = vec![("Idempotency-Key", key.as_str())];
        if let Some(t) = token.as_deref() {
            headers.push(("X-Voter-Token", t));
        }
        if let Some(i) = invite.as_deref() {
            headers.push(("X-Urna-Invite", i));
        }
        if let Some(p) = proof.as_deref() {
            headers.push(("X-Urna-Pow", p));
        }
        let wait_ms = match api::call("POST", &url, Some(body.clone()), None, &headers).await {
            Ok(res) if res.status() == 200 => {
                // The receipt, kept on this device for the verify page too.
                if let Ok(answer) = api::json::<api::VoteAnswer<'static>>(res).await
                    && let Some(r) = answer.receipt
                    && let Ok(text) = serde_json::to_string_pretty(&r)
                {
                    browser::store(&crate::pages::verify::receipt_key(slug), &text);
                    receipt.set(Some(text));
                }
                return Feedback::Recorded { again: unlimited };
            }
            Ok(res) if res.status() == 202 => return Feedback::Accepted,
            Ok(res) => {
                let p = api::problem(&res).await;
                match (p.status, p.code.as_str()) {
                    (429 | 503, _) => (p.retry_after.unwrap_or(1) as f64 * 1000.0).max(backoff_ms),
                    // An expired or spent challenge, or proof of work turned
                    // on meanwhile: solve a fresh one once, under a new key.
                    (403, "pow-required" | "pow-invalid" | "pow-reused") if !solved_again => {
                        solved_again = true;
                        proof = None;
                        key = guard::idempotency_key();
                        continue;
                    }
                    (401, "invite-invalid") => return Feedback::InviteInvalid,
                    // No voter cookie yet (the page's own request for it
                    // has not come back): the poll's answer brings one.
                    (401, "voter-credential-required") if !asked_for_cookie && token.is_none() => {
                        asked_for_cookie = true;
                        let _ = api::get::<Poll>(&format!("/api/polls/{slug}")).await;
                        continue;
                    }
                    (422, "too-few-choices") => return Feedback::TooFew,
                    (422, "too-many-choices") => return Feedback::TooMany,
                    (422, "repeated-choice") => return Feedback::Repeated,
                    (409, "already-voted") => return Feedback::AlreadyVoted,
                    (409, "poll-not-open") => return Feedback::NotOpenYet(p.opens_at),
                    (409, _) => return Feedback::Closed,
                    (401, _) => return Feedback::NeedToken,
                    (404, _) | (422, "unknown-choice" | "wrong-ballot-kind") => return Feedback::OptionGone,
                    _ => return Feedback::GaveUp,
                }
            }
            Err(_) if attempt == ATTEMPTS => return Feedback::Network,
            Err(_) => backoff_ms,
        };
        if attempt == ATTEMPTS {
            break;
        }
        let wait_ms = (wait_ms * (1.0 + 0.5 * js_sys::Math::random())).min(30_000.0);
        feedback.set(Some(Feedback::Retrying((wait_ms / 1000.0).ceil() as u32)));
        browser::sleep(wait_ms as u32).await;
        feedback.set(Some(Feedback::Sending));
        backoff_ms *= 2.0;
    }
    Feedback::GaveUp
}

/// Only the browser votes; the server renders the forms.
#[cfg(not(feature = "hydrate"))]
async fn cast(
    _slug: &str,
    _body: String,
    _unlimited: bool,
    _pow: Pow,
    _feedback: RwSignal<Option<Feedback>>,
    _receipt: RwSignal<Option<String>>,
) -> Feedback {
    Feedback::Network
}

/// Where this visit keeps the poll's invite code (from `?invite=`).
fn invite_key(slug: &str) -> String {
    format!("urna:invite:{slug}")
}

/// Proof of work and retry keys, in the browser.
#[cfg(feature = "hydrate")]
mod guard {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use leptos::prelude::*;

    use super::Feedback;
    use crate::api::{self, Challenge, PowSolution};
    use crate::browser;

    /// Solving longer than this tells the voter what is going on.
    const QUIET_MS: u32 = 300;

    thread_local! {
        /// A solution fetched and solved ahead, per poll, while the voter reads.
        static READY: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
    }

    /// A new `Idempotency-Key`: random enough to never repeat for one voter.
    pub fn idempotency_key() -> String {
        let r = || (js_sys::Math::random() * 4_294_967_296.0) as u32;
        format!("{:08x}{:08x}{:08x}{:08x}", r(), r(), r(), r())
    }

    async fn fetch_and_solve(slug: &str) -> Option<String> {
        let c: Challenge = api::get(&format!("/api/polls/{slug}/challenge")).await.ok()?;
        let number = browser::solve_pow(&c.salt, &c.challenge, c.maxnumber).await?;
        let s = PowSolution {
            algorithm: c.algorithm,
            challenge: c.challenge,
            number,
            salt: c.salt,
            signature: c.signature,
        };
        web_sys::window()?.btoa(&serde_json::to_string(&s).ok()?).ok()
    }

    /// Asks for the poll, whose answer sets the voter cookie this browser
    /// lacks (polls that identify voters by cookie).
    pub fn fetch_voter_cookie(slug: &str) {
        let url = format!("/api/polls/{slug}");
        leptos::task::spawn_local(async move {
            let _ = api::get::<api::Poll>(&url).await;
        });
    }

    /// Solves the next challenge in the background.
    pub fn prefetch(slug: &str) {
        let slug = slug.to_owned();
        leptos::task::spawn_local(async move {
            if let Some(h) = fetch_and_solve(&slug).await {
                READY.with(|r| r.borrow_mut().insert(slug, h));
            }
        });
    }

    /// A solved `X-Urna-Pow` for this vote: the one solved ahead if there
    /// is one, else solved now, saying so if it takes a while.
    pub async fn solved(slug: &str, feedback: RwSignal<Option<Feedback>>) -> Option<String> {
        if let Some(h) = READY.with(|r| r.borrow_mut().remove(slug)) {
            return Some(h);
        }
        let solving = RwSignal::new(true);
        leptos::task::spawn_local(async move {
            browser::sleep(QUIET_MS).await;
            if solving.try_get_untracked() == Some(true) {
                feedback.set(Some(Feedback::Checking));
            }
        });
        let h = fetch_and_solve(slug).await;
        solving.set(false);
        feedback.set(Some(Feedback::Sending));
        h
    }
}

#[cfg(not(feature = "hydrate"))]
mod guard {
    /// Only the browser solves.
    pub fn prefetch(_slug: &str) {}
    /// Only the browser keeps cookies.
    pub fn fetch_voter_cookie(_slug: &str) {}
}
