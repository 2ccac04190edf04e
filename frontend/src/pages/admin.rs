//! The admin dashboard, `/admin…`: login, the poll list with live totals,
//! the operations panel, the poll editor, open/close, CSV export and the
//! audit log. It speaks the admin HTTP API from the browser: every call
//! carries the session cookie (HttpOnly, SameSite=Strict) and every change
//! the session's CSRF token, so the server renders only its frame.
use crate::html::PageTitle;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::{
    AdminPoll, AuditEntry, InviteStats, Me, Ops, Poll, PollKind, PollStatus, Pow, Problem, Visibility, VoterIdentity,
};
use crate::browser;
use crate::i18n::{fill, tr};
use crate::pages::live::Dashboard;
use crate::pages::{StatusBadge, in_browser};

/// The logged-in admin, once known.
#[derive(Clone, Copy)]
pub struct Session(pub RwSignal<Option<Me>>);

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
impl Session {
    pub(super) fn csrf(&self) -> String {
        self.0.with_untracked(|m| m.as_ref().map(|m| m.csrf_token.clone()).unwrap_or_default())
    }
}

pub(super) fn use_session() -> Session {
    use_context::<Session>().unwrap_or_else(|| Session(RwSignal::new(None)))
}

/// Repeats `f` every `secs` seconds while the page shows it.
#[allow(unused_variables)]
fn every(secs: u64, f: impl Fn() + Clone + 'static) {
    #[cfg(feature = "hydrate")]
    in_browser(move || {
        f();
        let f = f.clone();
        if let Ok(h) = set_interval_with_handle(f, std::time::Duration::from_secs(secs)) {
            on_cleanup(move || h.clear());
        }
    });
}

/// Fetches in the browser and hands the answer to `done`.
#[allow(unused_variables)]
pub(super) fn fetch<T: serde::de::DeserializeOwned + 'static>(
    url: String,
    done: impl FnOnce(Result<T, Problem>) + 'static,
) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move { done(crate::api::get::<T>(&url).await) });
}

/// Sends a state change with the session's CSRF token.
#[allow(unused_variables)]
pub(super) fn change<B: serde::Serialize + 'static, T: serde::de::DeserializeOwned + 'static>(
    method: &'static str,
    url: String,
    body: Option<B>,
    done: impl FnOnce(Result<T, Problem>) + 'static,
) {
    #[cfg(feature = "hydrate")]
    {
        let csrf = use_session().csrf();
        leptos::task::spawn_local(async move { done(crate::api::send(method, &url, body.as_ref(), &csrf).await) });
    }
}

/// Sends a state change whose answer has no body (204).
#[allow(unused_variables)]
pub(super) fn change_empty<B: serde::Serialize + 'static>(
    method: &'static str,
    url: String,
    body: Option<B>,
    done: impl FnOnce(Result<(), Problem>) + 'static,
) {
    #[cfg(feature = "hydrate")]
    {
        let csrf = use_session().csrf();
        leptos::task::spawn_local(
            async move { done(crate::api::send_empty(method, &url, body.as_ref(), &csrf).await) },
        );
    }
}

/// Shows `children` to a logged-in admin and the login form to anyone else.
#[component]
pub(super) fn Gate(children: ChildrenFn) -> impl IntoView {
    let t = tr();
    let me = RwSignal::new(None::<Me>);
    let checked = RwSignal::new(false);
    provide_context(Session(me));
    in_browser(move || {
        fetch::<Me>("/api/admin/me".into(), move |r| {
            me.set(r.ok());
            checked.set(true);
        });
    });
    let children = StoredValue::new(children);
    view! {
        <PageTitle text=move || format!("{} · urna", t().admin)/>
        {move || match (checked.get(), me.get()) {
            (false, _) => view! { <p class="loading">{move || t().loading}</p> }.into_any(),
            (true, None) => view! { <Login/> }.into_any(),
            (true, Some(_)) => view! { <Nav/> {children.with_value(|c| c())} }.into_any(),
        }}
    }
}

/// What a refused login, password or code means to the person at the form.
pub(super) fn refusal(p: &Problem) -> String {
    let t = tr()();
    match p.code.as_str() {
        "login-failed" => t.login_failed.to_owned(),
        "totp-invalid" | "totp-code-wrong" => t.code_wrong.to_owned(),
        "login-throttled" => fill(t.login_throttled, p.retry_after.unwrap_or(900).div_ceil(60)),
        "login-busy" => t.login_busy.to_owned(),
        "password-wrong" => t.password_wrong.to_owned(),
        "password-too-short" => t.password_too_short.to_owned(),
        _ => t.request_failed.to_owned(),
    }
}

#[component]
fn Login() -> impl IntoView {
    let t = tr();
    let session = use_session();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    // Shown once the server says this account needs a one-time code.
    let needs_code = RwSignal::new(false);
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            let totp = needs_code.get_untracked().then(|| code.get_untracked());
            let body = serde_json::json!({
                "username": username.get_untracked(),
                "password": password.get_untracked(),
                "totp": totp,
            });
            leptos::task::spawn_local(async move {
                let answer = match crate::api::call("POST", "/api/admin/login", Some(body.to_string()), None, &[]).await
                {
                    Ok(res) => crate::api::json::<Me>(res).await,
                    Err(p) => Err(p),
                };
                match answer {
                    Ok(me) => {
                        password.set(String::new());
                        code.set(String::new());
                        error.set(None);
                        session.0.set(Some(me));
                    }
                    Err(p) if p.code == "totp-required" => {
                        needs_code.set(true);
                        error.set(None);
                    }
                    Err(p) => {
                        code.set(String::new());
                        error.set(Some(refusal(&p)));
                    }
                }
            });
        }
        let _ = (session, username, password, needs_code, code, error);
    };
    view! {
        <form class="card login" on:submit=submit>
            <h1>{move || t().admin}</h1>
            <label>{move || t().username}
                <input name="username" autocomplete="username" required bind:value=username/>
            </label>
            <label>{move || t().password}
                <input name="password" type="password" autocomplete="current-password" required bind:value=password/>
            </label>
            <Show when=move || needs_code.get()>
                <p class="hint">{move || t().one_time_code_hint}</p>
                <label>{move || t().one_time_code}
                    <input name="totp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required autofocus bind:value=code/>
                </label>
            </Show>
            <p class="feedback error" role="alert" hidden=move || error.with(Option::is_none)>{move || error.get()}</p>
            <button type="submit" class="primary">{move || t().log_in}</button>
        </form>
    }
}

#[component]
fn Nav() -> impl IntoView {
    let t = tr();
    let session = use_session();
    let name = move || session.0.with(|m| m.as_ref().map(|m| m.username.clone()).unwrap_or_default());
    let logout = move |_| {
        change::<(), serde_json::Value>("POST", "/api/admin/logout".into(), None, move |_| session.0.set(None));
    };
    view! {
        <nav class="admin-nav">
            <a href="/admin">{move || t().polls}</a>
            <a href="/admin/audit">{move || t().audit_log}</a>
            <a href="/admin/tokens">{move || t().api_tokens}</a>
            <a href="/admin/account">{move || t().account}</a>
            <span class="who">{move || fill(t().signed_in_as, name())}</span>
            <button type="button" on:click=logout>{move || t().log_out}</button>
        </nav>
    }
}

#[component]
pub fn AdminHome() -> impl IntoView {
    view! {
        <Gate>
            <OpsPanel/>
            <PollList/>
        </Gate>
    }
}

/// The poll list with live totals, refreshed every two seconds.
#[component]
fn PollList() -> impl IntoView {
    let t = tr();
    let polls = RwSignal::new(Vec::<AdminPoll>::new());
    every(2, move || {
        fetch::<Vec<AdminPoll>>("/api/admin/polls".into(), move |r| {
            if let Ok(p) = r {
                polls.set(p);
            }
        });
    });
    view! {
        <section class="card">
            <div class="row">
                <h1>{move || t().polls}</h1>
                <a class="button primary" href="/admin/polls/new">{move || t().new_poll}</a>
            </div>
            <p hidden=move || !polls.with(Vec::is_empty)>{move || t().no_polls}</p>
            <table class="polls" hidden=move || polls.with(Vec::is_empty)>
                <thead><tr>
                    <th scope="col">{move || t().title}</th>
                    <th scope="col">{move || t().status}</th>
                    <th scope="col" class="num">{move || t().total_votes}</th>
                </tr></thead>
                <tbody>
                    <For each=move || polls.get() key=|p| (p.poll.id, p.results.total_votes, p.poll.status, p.poll.title.clone()) let:p>
                        <tr data-slug=p.poll.slug>
                            <td><a href=format!("/admin/polls/{}", p.poll.id)>{p.poll.title.clone()}</a></td>
                            <td><StatusBadge status=p.poll.status/></td>
                            <td class="num" data-testid="poll-total">{p.results.total_votes}</td>
                        </tr>
                    </For>
                </tbody>
            </table>
        </section>
    }
}

/// The operating figures of this instance: the three KPIs (error rate, p99
/// latency, votes/s with queue depth) and a little context.
#[component]
fn OpsPanel() -> impl IntoView {
    let t = tr();
    let ops = RwSignal::new(None::<Ops>);
    every(2, move || fetch::<Ops>("/api/admin/ops".into(), move |r| ops.set(r.ok())));
    let figure = move |f: fn(&Ops) -> String| move || ops.with(|o| o.as_ref().map(f).unwrap_or_else(|| "–".into()));
    view! {
        <section class="card ops" aria-labelledby="ops-title">
            <h2 id="ops-title">{move || t().operations} <small>{move || t().last_minute}</small></h2>
            <dl class="kpis">
                <div><dt>{move || t().votes_per_sec}</dt><dd data-testid="ops-votes">{figure(|o| format!("{:.0}", o.votes_per_sec))}</dd></div>
                <div><dt>{move || t().error_rate}</dt><dd data-testid="ops-errors">{figure(|o| format!("{:.2}%", o.error_rate * 100.0))}</dd></div>
                <div><dt>{move || t().p99_latency}</dt><dd data-testid="ops-p99">{figure(|o| o.p99_ms.map(|p| format!("{p:.1} ms")).unwrap_or_else(|| "–".into()))}</dd></div>
                <div><dt>{move || t().queue_depth}</dt><dd data-testid="ops-queue">{figure(|o| o.queue_depth.to_string())}</dd></div>
                <div><dt>{move || t().requests_per_sec}</dt><dd>{figure(|o| format!("{:.0}", o.requests_per_sec))}</dd></div>
                <div><dt>{move || t().live_viewers}</dt><dd>{figure(|o| o.sse_viewers.to_string())}</dd></div>
                <div><dt>{move || t().redis}</dt><dd>{figure(|o| o.redis.clone())}</dd></div>
            </dl>
        </section>
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    view! { <Gate><AuditLog/></Gate> }
}

#[component]
fn AuditLog() -> impl IntoView {
    let t = tr();
    let entries = RwSignal::new(Vec::<AuditEntry>::new());
    every(5, move || {
        fetch::<Vec<AuditEntry>>("/api/admin/audit?limit=200".into(), move |r| {
            if let Ok(e) = r {
                entries.set(e);
            }
        });
    });
    view! {
        <section class="card">
            <h1>{move || t().audit_log}</h1>
            <table class="audit">
                <thead><tr>
                    <th scope="col">{move || t().when}</th>
                    <th scope="col">{move || t().who}</th>
                    <th scope="col">{move || t().action}</th>
                    <th scope="col">{move || t().target}</th>
                </tr></thead>
                <tbody>
                    <For each=move || entries.get() key=|e| e.id let:e>
                        <tr>
                            <td>{browser::local_datetime(&e.at)}</td>
                            <td>{e.actor.clone()}</td>
                            <td><code>{e.action.clone()}</code></td>
                            <td>{e.target}</td>
                        </tr>
                    </For>
                </tbody>
            </table>
        </section>
    }
}

#[component]
pub fn NewPollPage() -> impl IntoView {
    view! { <Gate><Editor poll=None/></Gate> }
}

/// One poll: its actions, its live view and its editor.
#[component]
pub fn PollAdminPage() -> impl IntoView {
    let t = tr();
    let params = use_params_map();
    let id = move || params.read_untracked().get("id").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let poll = RwSignal::new(None::<Result<AdminPoll, Problem>>);
    let reload = move || fetch::<AdminPoll>(format!("/api/admin/polls/{}", id()), move |r| poll.set(Some(r)));
    view! {
        <Gate>
            {
                in_browser(reload);
                view! {
                    {move || match poll.get() {
                        None => view! { <p class="loading">{move || t().loading}</p> }.into_any(),
                        Some(Err(p)) => view! { <p class="feedback error">{fill(t().failed, p.detail)}</p> }.into_any(),
                        Some(Ok(p)) => view! { <PollAdmin poll=p on_change=Callback::new(move |p| poll.set(Some(Ok(p))))/> }.into_any(),
                    }}
                }
            }
        </Gate>
    }
}

#[component]
fn PollAdmin(poll: AdminPoll, on_change: Callback<AdminPoll>) -> impl IntoView {
    let t = tr();
    let id = poll.poll.id;
    let slug = poll.poll.slug.clone();
    let status = poll.poll.status;
    let confirming = RwSignal::new(None::<&'static str>);
    let error = RwSignal::new(None::<String>);
    let act = move |what: &'static str| {
        confirming.set(None);
        change::<(), AdminPoll>("POST", format!("/api/admin/polls/{id}/{what}"), None, move |r| match r {
            Ok(p) => {
                error.set(None);
                on_change.run(p);
            }
            Err(p) => error.set(Some(p.detail)),
        });
    };
    let can_open = matches!(status, PollStatus::Draft | PollStatus::Scheduled);
    let can_close = status != PollStatus::Closed;
    let can_reveal = status == PollStatus::Closed
        && poll.poll.results_visibility != Visibility::Live
        && poll.poll.revealed_at.is_none();
    let revealed_at = poll.poll.revealed_at;
    view! {
        <PageTitle text=format!("{} · {}", poll.poll.title, t().admin)/>
        <section class="card">
            <div class="row">
                <h1>{poll.poll.title.clone()}</h1>
                <StatusBadge status/>
            </div>
            <p class="links">
                <a href=format!("/p/{slug}")>{move || t().public_page}</a>
                <a href=format!("/p/{slug}/live")>{move || t().live_results}</a>
                <a href=format!("/p/{slug}/present") target="_blank">{move || t().presenter}</a>
                <a href=format!("/api/admin/polls/{id}/export.csv") download data-testid="export-csv">{move || t().export_csv}</a>
            </p>
            <div class="actions">
                {can_open.then(|| view! { <button type="button" class="primary" on:click=move |_| confirming.set(Some("open"))>{move || t().open_voting}</button> })}
                {can_close.then(|| view! { <button type="button" class="danger" on:click=move |_| confirming.set(Some("close"))>{move || t().close_voting}</button> })}
                {can_reveal.then(|| view! { <button type="button" class="primary" on:click=move |_| confirming.set(Some("reveal"))>{move || t().reveal}</button> })}
                {revealed_at.map(|at| view! { <span class="hint" data-testid="revealed-at">{move || fill(t().revealed_at, browser::local_time(&at))}</span> })}
            </div>
            {move || confirming.get().map(|what| view! {
                <div class="confirm" role="alertdialog" aria-live="assertive">
                    <p>{move || match what { "open" => t().confirm_open, "reveal" => t().confirm_reveal, _ => t().confirm_close }}</p>
                    <button type="button" class="primary" on:click=move |_| act(what)>{move || t().yes}</button>
                    <button type="button" on:click=move |_| confirming.set(None)>{move || t().cancel}</button>
                </div>
            })}
            <p class="feedback error" role="alert" hidden=move || error.with(Option::is_none)>{move || error.get()}</p>
            {poll.pow_difficulty_now.map(|d| {
                let secs = poll.pow_phone_secs.unwrap_or(0.0);
                view! { <p class="hint" data-testid="pow-now">{move || fill(&fill(t().pow_now, d), format!("{secs:.1}"))}</p> }
            })}
            {(poll.poll.voter_identity == VoterIdentity::Invite).then(|| view! { <Invites id slug=poll.poll.slug.clone()/> })}
            {(!poll.embed_origins.is_empty()).then(|| view! { <EmbedCode slug=poll.poll.slug.clone() title=poll.poll.title.clone()/> })}
            <Dashboard slug=slug initial=Some(Ok(poll.results.clone()))/>
        </section>
        <Editor poll=Some(poll)/>
    }
}

/// The iframe a host pastes into a page on one of the poll's embed origins.
#[component]
fn EmbedCode(slug: String, title: String) -> impl IntoView {
    let t = tr();
    let code =
        crate::api::embed_iframe(&browser::origin().unwrap_or_default(), &slug, None, &title, crate::api::EMBED_SIZE);
    view! {
        <div class="embed-code" data-testid="embed-code">
            <p><strong>{move || t().embed_code}</strong>" "{move || t().embed_code_hint}</p>
            <code>{code.clone()}</code>
            <crate::pages::CopyButton text=code label=|t| t.copy/>
        </div>
    }
}

/// A row of the editor's option list; `key` keeps its inputs in place
/// while rows move.
#[derive(Clone, Copy)]
struct OptionRow {
    key: u32,
    label: RwSignal<String>,
    image: RwSignal<String>,
}

#[derive(Clone, Copy)]
struct TrackRow {
    key: u32,
    name: RwSignal<String>,
    dedupe: RwSignal<String>,
    weight: RwSignal<String>,
}

fn option_rows(p: Option<&Poll>) -> Vec<OptionRow> {
    let row = |key, label: &str, image: &str| OptionRow {
        key,
        label: RwSignal::new(label.into()),
        image: RwSignal::new(image.into()),
    };
    match p {
        Some(p) => p
            .options
            .iter()
            .enumerate()
            .map(|(i, o)| row(i as u32, &o.label, o.image_url.as_deref().unwrap_or("")))
            .collect(),
        None => vec![row(0, "", ""), row(1, "", "")],
    }
}

fn track_rows(p: Option<&Poll>) -> Vec<TrackRow> {
    let row = |key, name: &str, dedupe: &str, weight: i32| TrackRow {
        key,
        name: RwSignal::new(name.into()),
        dedupe: RwSignal::new(dedupe.into()),
        weight: RwSignal::new(weight.to_string()),
    };
    match p {
        Some(p) => {
            p.tracks.iter().enumerate().map(|(i, t)| row(i as u32, &t.name, t.dedupe.as_str(), t.weight)).collect()
        }
        None => vec![row(0, "main", "unlimited", 1)],
    }
}

fn options_json(rows: &[OptionRow]) -> serde_json::Value {
    rows.iter()
        .map(|r| {
            let image = r.image.get_untracked();
            serde_json::json!({ "label": r.label.get_untracked(), "image_url": (!image.trim().is_empty()).then_some(image.trim().to_owned()) })
        })
        .collect()
}

fn tracks_json(rows: &[TrackRow]) -> serde_json::Value {
    rows.iter()
        .map(|r| {
            serde_json::json!({
                "name": r.name.get_untracked(),
                "dedupe": r.dedupe.get_untracked(),
                "weight": r.weight.get_untracked().trim().parse::<i64>().unwrap_or(0),
            })
        })
        .collect()
}

/// Creates a poll (`poll: None`) or edits one. Only what changed is sent,
/// so an open poll's schedule or visibility can change without touching its
/// options.
#[component]
fn Editor(poll: Option<AdminPoll>) -> impl IntoView {
    let t = tr();
    let navigate = use_navigate();
    let original = poll.as_ref().map(|p| p.poll.clone());
    let editing = original.is_some();
    let id = original.as_ref().map(|p| p.id);
    let p = original.as_ref();
    let text = |f: fn(&Poll) -> String, default: &str| RwSignal::new(p.map(f).unwrap_or_else(|| default.to_owned()));
    let slug = text(|p| p.slug.clone(), "");
    let title = text(|p| p.title.clone(), "");
    let description = text(|p| p.description.clone(), "");
    let opens_at = text(|p| p.opens_at.as_ref().map(browser::to_input_value).unwrap_or_default(), "");
    let closes_at = text(|p| p.closes_at.as_ref().map(browser::to_input_value).unwrap_or_default(), "");
    let visibility = text(|p| p.results_visibility.as_str().to_owned(), "live");
    // A new poll speaks the admin's language until they choose.
    let language = text(|p| p.language.as_str().to_owned(), crate::i18n::use_lang().get_untracked().tag());
    let ack = text(|p| p.ack.as_str().to_owned(), "durable");
    let identity = text(|p| p.voter_identity.as_str().to_owned(), "cookie");
    let kind = text(|p| p.kind.as_str().to_owned(), "single");
    let min_choices = text(|p| p.min_choices.to_string(), "1");
    // Empty: every option.
    let max_choices = text(|p| if p.kind == PollKind::Single { String::new() } else { p.max_choices.to_string() }, "");
    let rule0 = (kind.get_untracked(), min_choices.get_untracked(), max_choices.get_untracked());
    let pow_mode = text(
        |p| match p.pow {
            Pow::Off => "off".into(),
            Pow::Auto => "auto".into(),
            Pow::Fixed(_) => "fixed".into(),
        },
        "off",
    );
    let difficulty = text(|p| if let Pow::Fixed(n) = p.pow { n.to_string() } else { "100000".into() }, "100000");
    let webhook = RwSignal::new(poll.as_ref().and_then(|p| p.webhook_url.clone()).unwrap_or_default());
    let embeds = RwSignal::new(poll.as_ref().map(|p| p.embed_origins.join("\n")).unwrap_or_default());
    let embeds0 = embeds.get_untracked();
    let options = RwSignal::new(option_rows(p));
    let tracks = RwSignal::new(track_rows(p));
    let next_key = StoredValue::new(1000_u32);
    let message = RwSignal::new(None::<Result<(), String>>);
    // A new webhook signing key, shown once, and the poll it belongs to.
    let new_key = RwSignal::new(None::<(i64, String)>);
    let structural = original.as_ref().is_none_or(|p| matches!(p.status, PollStatus::Draft | PollStatus::Scheduled));
    let (options0, tracks0) = (options_json(&options.get_untracked()), tracks_json(&tracks.get_untracked()));
    let (opens0, closes0, webhook0) = (opens_at.get_untracked(), closes_at.get_untracked(), webhook.get_untracked());
    let had_webhook = !webhook0.is_empty();

    let key = move || {
        next_key.update_value(|k| *k += 1);
        next_key.get_value()
    };
    let add_option = move |_| {
        let k = key();
        options.update(|o| {
            o.push(OptionRow { key: k, label: RwSignal::new(String::new()), image: RwSignal::new(String::new()) });
        });
    };
    let add_track = move |_| {
        let k = key();
        tracks.update(|t| {
            t.push(TrackRow {
                key: k,
                name: RwSignal::new(String::new()),
                dedupe: RwSignal::new("unlimited".into()),
                weight: RwSignal::new("1".into()),
            });
        });
    };
    let move_option = move |key: u32, by: isize| {
        options.update(|o| {
            if let Some(i) = o.iter().position(|r| r.key == key) {
                let j = i as isize + by;
                if j >= 0 && (j as usize) < o.len() {
                    o.swap(i, j as usize);
                }
            }
        });
    };

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut body = serde_json::Map::new();
        let mut put = |k: &str, v: serde_json::Value| {
            body.insert(k.into(), v);
        };
        let time =
            |s: String| browser::from_input_value(&s).map(serde_json::Value::from).unwrap_or(serde_json::Value::Null);
        put("title", title.get_untracked().into());
        put("description", description.get_untracked().into());
        put("results_visibility", visibility.get_untracked().into());
        put("language", language.get_untracked().into());
        put("ack", ack.get_untracked().into());
        put("voter_identity", identity.get_untracked().into());
        put(
            "pow",
            match pow_mode.get_untracked().as_str() {
                "fixed" => {
                    serde_json::json!({ "difficulty": difficulty.get_untracked().trim().parse::<u64>().unwrap_or(0) })
                }
                other => other.into(),
            },
        );
        let (o, tr) = (options_json(&options.get_untracked()), tracks_json(&tracks.get_untracked()));
        if !editing || o != options0 {
            put("options", o);
        }
        if !editing || tr != tracks0 {
            put("tracks", tr);
        }
        let rule = (kind.get_untracked(), min_choices.get_untracked(), max_choices.get_untracked());
        if !editing || rule != rule0 {
            put("kind", rule.0.clone().into());
            if rule.0 != "single" {
                let number = |s: &str| s.trim().parse::<u64>().ok().map_or(serde_json::Value::Null, Into::into);
                put("min_choices", number(&rule.1));
                put("max_choices", number(&rule.2));
            }
        }
        if !editing || opens_at.get_untracked() != opens0 {
            put("opens_at", time(opens_at.get_untracked()));
        }
        if !editing || closes_at.get_untracked() != closes0 {
            put("closes_at", time(closes_at.get_untracked()));
        }
        let sites = embeds.get_untracked();
        if sites != embeds0 {
            let list: Vec<&str> = sites.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            put("embed_origins", list.into());
        }
        let hook = webhook.get_untracked();
        if !editing || hook != webhook0 {
            put("webhook_url", if hook.trim().is_empty() { serde_json::Value::Null } else { hook.trim().into() });
        }
        let navigate = navigate.clone();
        match id {
            None => {
                put("slug", slug.get_untracked().into());
                change(
                    "POST",
                    "/api/admin/polls".into(),
                    Some(serde_json::Value::Object(body)),
                    move |r: Result<AdminPoll, Problem>| match r {
                        // The key is shown before moving on: it is never shown again.
                        Ok(AdminPoll { webhook_secret: Some(key), poll, .. }) => new_key.set(Some((poll.id, key))),
                        Ok(p) => navigate(&format!("/admin/polls/{}", p.poll.id), Default::default()),
                        Err(p) => message.set(Some(Err(p.detail))),
                    },
                );
            }
            Some(id) => {
                change(
                    "PATCH",
                    format!("/api/admin/polls/{id}"),
                    Some(serde_json::Value::Object(body)),
                    move |r: Result<AdminPoll, Problem>| {
                        if let Ok(AdminPoll { webhook_secret: Some(key), poll, .. }) = &r {
                            new_key.set(Some((poll.id, key.clone())));
                        }
                        message.set(Some(r.map(|_| ()).map_err(|p| p.detail)));
                    },
                );
            }
        }
    };
    let rotate = move |_| {
        let Some(id) = id else { return };
        change(
            "PATCH",
            format!("/api/admin/polls/{id}"),
            Some(serde_json::json!({ "rotate_webhook_secret": true })),
            move |r: Result<AdminPoll, Problem>| match r {
                Ok(AdminPoll { webhook_secret: Some(key), poll, .. }) => new_key.set(Some((poll.id, key))),
                Ok(_) => {}
                Err(p) => message.set(Some(Err(p.detail))),
            },
        );
    };

    view! {
        <form class="card editor" on:submit=save>
            <h2>{move || if editing { t().edit_poll } else { t().new_poll }}</h2>
            <label>{move || t().slug}
                <input name="slug" required pattern="[a-z0-9][a-z0-9\\-]*" bind:value=slug disabled=editing aria-describedby="slug-hint"/>
            </label>
            <small id="slug-hint">{move || t().slug_hint}</small>
            <label>{move || t().title}<input name="title" required bind:value=title/></label>
            <label>{move || t().description}<textarea name="description" bind:value=description></textarea></label>

            <fieldset disabled=!structural>
                <legend>{move || t().options}</legend>
                <ol class="rows">
                    <For each=move || options.get() key=|r| r.key let:row>
                        <li class="edit-row">
                            <input aria-label=move || t().title name="option-label" required bind:value=row.label placeholder=move || t().title/>
                            <input aria-label=move || t().image_url name="option-image" type="url" bind:value=row.image placeholder=move || t().image_url/>
                            <button type="button" aria-label=move || t().move_up on:click=move |_| move_option(row.key, -1)>"↑"</button>
                            <button type="button" aria-label=move || t().move_down on:click=move |_| move_option(row.key, 1)>"↓"</button>
                            <button type="button" aria-label=move || t().remove on:click=move |_| options.update(|o| o.retain(|r| r.key != row.key))>"✕"</button>
                        </li>
                    </For>
                </ol>
                <button type="button" on:click=add_option>{move || t().add_option}</button>
            </fieldset>

            <fieldset disabled=!structural>
                <legend>{move || t().ballot_kind}</legend>
                <label>{move || t().ballot_kind}
                    <select name="kind" prop:value=move || kind.get() on:change=move |ev| kind.set(event_target_value(&ev))>
                        <option value="single">{move || t().kind_single}</option>
                        <option value="multiple">{move || t().kind_multiple}</option>
                        <option value="ranked">{move || t().kind_ranked}</option>
                    </select>
                </label>
                <label hidden=move || kind.get() == "single">{move || t().min_choices}
                    <input name="min_choices" type="number" min="1" max="50" bind:value=min_choices/>
                </label>
                <label hidden=move || kind.get() == "single">{move || t().max_choices}
                    <input name="max_choices" type="number" min="1" max="50" bind:value=max_choices placeholder=move || t().all_options/>
                </label>
            </fieldset>

            <fieldset disabled=!structural>
                <legend>{move || t().tracks}</legend>
                <ol class="rows">
                    <For each=move || tracks.get() key=|r| r.key let:row>
                        <li class="edit-row">
                            <input aria-label=move || t().track_name name="track-name" required bind:value=row.name placeholder=move || t().track_name/>
                            <select aria-label=move || t().rule name="track-dedupe" prop:value=move || row.dedupe.get()
                                on:change=move |ev| row.dedupe.set(event_target_value(&ev))>
                                <option value="unlimited">{move || t().rule_unlimited}</option>
                                <option value="one_per_voter">{move || t().rule_once}</option>
                            </select>
                            <input aria-label=move || t().weight.replace(" {}", "") name="track-weight" type="number" min="1" max="100" bind:value=row.weight/>
                            <button type="button" aria-label=move || t().remove on:click=move |_| tracks.update(|o| o.retain(|r| r.key != row.key))>"✕"</button>
                        </li>
                    </For>
                </ol>
                <button type="button" on:click=add_track hidden=move || tracks.with(|t| t.len() >= 2)>{move || t().add_track}</button>
            </fieldset>

            <fieldset>
                <legend>{move || t().schedule}</legend>
                <label>{move || t().opens_at_label}<input name="opens_at" type="datetime-local" bind:value=opens_at/></label>
                <label>{move || t().closes_at_label}<input name="closes_at" type="datetime-local" bind:value=closes_at/></label>
            </fieldset>

            <label>{move || t().poll_language}
                <select name="language" prop:value=move || language.get() on:change=move |ev| language.set(event_target_value(&ev))>
                    <option value="pt-BR" lang="pt-BR">"Português (Brasil)"</option>
                    <option value="en" lang="en">"English"</option>
                </select>
            </label>
            <p class="hint">{move || t().poll_language_hint}</p>
            <label>{move || t().visibility}
                <select name="results_visibility" prop:value=move || visibility.get() on:change=move |ev| visibility.set(event_target_value(&ev))>
                    <option value="live">{move || t().vis_live}</option>
                    <option value="after_close">{move || t().vis_after_close}</option>
                    <option value="after_vote">{move || t().vis_after_vote}</option>
                    <option value="admin_only">{move || t().vis_admin_only}</option>
                </select>
            </label>
            <label>{move || t().ack_mode}
                <select name="ack" prop:value=move || ack.get() on:change=move |ev| ack.set(event_target_value(&ev))>
                    <option value="durable">{move || t().ack_durable}</option>
                    <option value="fast">{move || t().ack_fast}</option>
                </select>
            </label>
            <label>{move || t().voter_identity}
                <select name="voter_identity" prop:value=move || identity.get() on:change=move |ev| identity.set(event_target_value(&ev))>
                    <option value="cookie">{move || t().identity_cookie}</option>
                    <option value="token">{move || t().identity_token}</option>
                    <option value="invite">{move || t().identity_invite}</option>
                </select>
            </label>
            <label>{move || t().pow}
                <select name="pow" prop:value=move || pow_mode.get() on:change=move |ev| pow_mode.set(event_target_value(&ev))>
                    <option value="off">{move || t().pow_off}</option>
                    <option value="auto">{move || t().pow_auto}</option>
                    <option value="fixed">{move || t().pow_fixed}</option>
                </select>
            </label>
            <label hidden=move || pow_mode.get() != "fixed">{move || t().pow_difficulty}
                <input name="pow-difficulty" type="number" min="1000" max="10000000" step="1000" bind:value=difficulty/>
            </label>
            <label>{move || t().embed_origins}
                <textarea name="embed_origins" rows="2" placeholder="https://www.example.com"
                    prop:value=move || embeds.get() on:input=move |ev| embeds.set(event_target_value(&ev))></textarea>
            </label>
            <p class="hint">{move || t().embed_origins_hint}</p>
            <label>{move || t().webhook}<input name="webhook_url" type="url" bind:value=webhook/></label>
            <button type="button" hidden=!editing || !had_webhook on:click=rotate>{move || t().webhook_rotate}</button>
            {move || new_key.get().map(|(poll, key)| view! {
                <div class="card secret" role="status">
                    <p>{move || t().webhook_key_once}</p>
                    <code data-testid="webhook-secret">{key}</code>
                    <p hidden=editing><a href=format!("/admin/polls/{poll}")>{move || t().open_poll}</a></p>
                </div>
            })}

            <p role="status" class=move || match message.get() { Some(Ok(())) => "feedback ok", Some(Err(_)) => "feedback error", None => "feedback" }>
                {move || match message.get() { Some(Ok(())) => t().saved.to_owned(), Some(Err(e)) => fill(t().failed, e), None => String::new() }}
            </p>
            <button type="submit" class="primary">{move || if editing { t().save } else { t().create_poll }}</button>
        </form>
    }
}

/// The invite codes of a poll: how many exist and are used, and new ones as
/// a CSV or a printable sheet of QR codes (shown this once, never stored).
#[component]
fn Invites(id: i64, slug: String) -> impl IntoView {
    let t = tr();
    let stats = RwSignal::new(None::<InviteStats>);
    let count = RwSignal::new("100".to_owned());
    let error = RwSignal::new(None::<String>);
    let refresh = move || fetch::<InviteStats>(format!("/api/admin/polls/{id}/invites"), move |r| stats.set(r.ok()));
    in_browser(refresh);
    let make = move |format: &'static str| {
        let n: u32 = count.get_untracked().trim().parse().unwrap_or(0);
        #[cfg(feature = "hydrate")]
        {
            let (csrf, slug) = (use_session().csrf(), slug.clone());
            leptos::task::spawn_local(async move {
                let url = format!("/api/admin/polls/{id}/invites?format={format}");
                match crate::api::send_for_text("POST", &url, &serde_json::json!({ "count": n }), &csrf).await {
                    Ok(text) if format == "csv" => {
                        browser::save_file(&text, "text/csv", &format!("{slug}-invites.csv"));
                        error.set(None);
                    }
                    Ok(html) => {
                        browser::open_document(&html);
                        error.set(None);
                    }
                    Err(p) => error.set(Some(p.detail)),
                }
                refresh();
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (n, format, &slug);
    };
    let make_sheet = make.clone();
    view! {
        <section class="invites">
            <h2>{move || t().invites}</h2>
            <p data-testid="invite-stats">{move || stats.get().map(|s| fill(&fill(t().invites_stats, s.total), s.used))}</p>
            <label>{move || t().invite_count}
                <input name="invite-count" type="number" min="1" max="100000" bind:value=count/>
            </label>
            <div class="actions">
                <button type="button" on:click=move |_| make("csv")>{move || t().invites_csv}</button>
                <button type="button" on:click=move |_| make_sheet("sheet")>{move || t().invites_sheet}</button>
            </div>
            <p class="feedback error" role="alert" hidden=move || error.with(Option::is_none)>{move || error.get()}</p>
        </section>
    }
}
