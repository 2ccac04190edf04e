//! pt-BR and English. Every string a page shows is a field of [`Texts`],
//! so a language missing one does not compile.
//!
//! The server picks the language (the `urna_lang` cookie, else
//! `Accept-Language`) and writes it into `<html lang>`; the browser reads it
//! back from there when it hydrates, so both render the same words.
use leptos::prelude::*;

/// A language of the UI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locale {
    PtBr,
    En,
}

/// The cookie that remembers the reader's choice.
pub const LANG_COOKIE: &str = "urna_lang";

impl Locale {
    pub fn tag(self) -> &'static str {
        match self {
            Locale::PtBr => "pt-BR",
            Locale::En => "en",
        }
    }

    /// `pt`, `pt-BR`, `pt_PT`… are Portuguese; anything else is English.
    pub fn from_tag(tag: &str) -> Locale {
        if tag.trim().to_ascii_lowercase().starts_with("pt") { Locale::PtBr } else { Locale::En }
    }

    /// From an `Accept-Language` header: the first language named wins
    /// (browsers list them by preference).
    pub fn from_accept_language(header: &str) -> Locale {
        header.split(',').next().map(|l| Locale::from_tag(l.split(';').next().unwrap_or(""))).unwrap_or(Locale::En)
    }

    pub fn other(self) -> Locale {
        match self {
            Locale::PtBr => Locale::En,
            Locale::En => Locale::PtBr,
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Locale::PtBr => &PT_BR,
            Locale::En => &EN,
        }
    }
}

/// The current language, a signal provided by the app's root.
#[derive(Clone, Copy)]
pub struct Lang(pub RwSignal<Locale>);

pub fn use_lang() -> RwSignal<Locale> {
    use_context::<Lang>().map(|l| l.0).unwrap_or_else(|| RwSignal::new(Locale::En))
}

/// The current language's texts, to read inside a reactive closure.
pub fn tr() -> impl Fn() -> &'static Texts + Copy + Send + Sync + 'static {
    let lang = use_lang();
    move || lang.get().texts()
}

/// Fills the `{}` of a text.
pub fn fill(text: &str, value: impl std::fmt::Display) -> String {
    text.replacen("{}", &value.to_string(), 1)
}

/// Every string of the UI.
pub struct Texts {
    pub language_name: &'static str,
    pub switch_language: &'static str,
    pub loading: &'static str,
    pub not_found: &'static str,
    pub poll_not_found: &'static str,
    pub home_tagline: &'static str,
    pub home_body: &'static str,
    pub home_admin: &'static str,

    pub status_draft: &'static str,
    pub status_scheduled: &'static str,
    pub status_open: &'static str,
    pub status_closed: &'static str,
    pub opens_at: &'static str,
    pub closes_at: &'static str,
    pub track_unlimited: &'static str,
    pub track_once: &'static str,
    pub vote_for: &'static str,
    pub sending: &'static str,
    pub recorded: &'static str,
    pub recorded_again: &'static str,
    pub accepted: &'static str,
    pub already_voted: &'static str,
    pub you_have_voted: &'static str,
    pub not_open_yet: &'static str,
    pub closed: &'static str,
    pub busy_retrying: &'static str,
    pub gave_up: &'static str,
    pub need_token: &'static str,
    pub option_gone: &'static str,
    pub network_error: &'static str,
    pub see_results: &'static str,
    pub go_vote: &'static str,

    pub live_results: &'static str,
    pub total_votes: &'static str,
    pub votes_per_sec: &'static str,
    pub counted_up_to: &'static str,
    pub nothing_counted: &'static str,
    pub weighted_result: &'static str,
    pub weight: &'static str,
    pub votes: &'static str,
    pub stream_live: &'static str,
    pub stream_reconnecting: &'static str,
    pub vote_curve: &'static str,
    pub share: &'static str,
    pub qr_alt: &'static str,
    pub results_after_close: &'static str,
    pub results_admin_only: &'static str,

    pub admin: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub log_in: &'static str,
    pub log_out: &'static str,
    pub login_failed: &'static str,
    pub signed_in_as: &'static str,
    pub polls: &'static str,
    pub no_polls: &'static str,
    pub new_poll: &'static str,
    pub edit_poll: &'static str,
    pub title: &'static str,
    pub status: &'static str,
    pub manage: &'static str,
    pub audit_log: &'static str,
    pub when: &'static str,
    pub who: &'static str,
    pub action: &'static str,
    pub target: &'static str,
    pub operations: &'static str,
    pub requests_per_sec: &'static str,
    pub error_rate: &'static str,
    pub p99_latency: &'static str,
    pub queue_depth: &'static str,
    pub live_viewers: &'static str,
    pub redis: &'static str,
    pub last_minute: &'static str,

    pub slug: &'static str,
    pub slug_hint: &'static str,
    pub description: &'static str,
    pub options: &'static str,
    pub option_n: &'static str,
    pub image_url: &'static str,
    pub add_option: &'static str,
    pub remove: &'static str,
    pub move_up: &'static str,
    pub move_down: &'static str,
    pub tracks: &'static str,
    pub track_name: &'static str,
    pub rule: &'static str,
    pub rule_unlimited: &'static str,
    pub rule_once: &'static str,
    pub add_track: &'static str,
    pub schedule: &'static str,
    pub opens_at_label: &'static str,
    pub closes_at_label: &'static str,
    pub visibility: &'static str,
    pub vis_live: &'static str,
    pub vis_after_close: &'static str,
    pub vis_admin_only: &'static str,
    pub ack_mode: &'static str,
    pub ack_durable: &'static str,
    pub ack_fast: &'static str,
    pub voter_identity: &'static str,
    pub identity_cookie: &'static str,
    pub identity_token: &'static str,
    pub save: &'static str,
    pub create_poll: &'static str,
    pub saved: &'static str,
    pub open_voting: &'static str,
    pub close_voting: &'static str,
    pub confirm_open: &'static str,
    pub confirm_close: &'static str,
    pub yes: &'static str,
    pub cancel: &'static str,
    pub export_csv: &'static str,
    pub back: &'static str,
    pub failed: &'static str,
    pub public_page: &'static str,
    pub webhook: &'static str,
    pub checking_robot: &'static str,
    pub needs_javascript: &'static str,
    pub invite_invalid: &'static str,
    pub identity_invite: &'static str,
    pub pow: &'static str,
    pub pow_off: &'static str,
    pub pow_auto: &'static str,
    pub pow_fixed: &'static str,
    pub pow_difficulty: &'static str,
    pub pow_now: &'static str,
    pub invites: &'static str,
    pub invite_count: &'static str,
    pub invites_csv: &'static str,
    pub invites_sheet: &'static str,
    pub invites_stats: &'static str,
}

pub static EN: Texts = Texts {
    language_name: "English",
    switch_language: "Português",
    loading: "Loading…",
    not_found: "Page not found",
    poll_not_found: "There is no poll at this address.",
    home_tagline: "Live voting for very large audiences",
    home_body: "Every vote is acknowledged only once it is stored, counted exactly, and shown live.",
    home_admin: "Manage polls",

    status_draft: "Draft",
    status_scheduled: "Scheduled",
    status_open: "Voting is open",
    status_closed: "Voting is closed",
    opens_at: "Opens at {}",
    closes_at: "Closes at {}",
    track_unlimited: "Vote as often as you like",
    track_once: "One vote per person",
    vote_for: "Vote for {}",
    sending: "Sending your vote…",
    recorded: "Vote recorded. Thank you!",
    recorded_again: "Vote recorded. You can vote again.",
    accepted: "Vote received. It will be counted in a moment.",
    already_voted: "You have already voted in this poll.",
    you_have_voted: "You have voted.",
    not_open_yet: "Voting has not opened yet.",
    closed: "Voting is closed. This vote was not counted.",
    busy_retrying: "Many votes right now. Trying again in {} s…",
    gave_up: "We could not record your vote. Please try again.",
    need_token: "This poll needs a voter pass from the organiser's site.",
    option_gone: "That option no longer exists. Reload the page.",
    network_error: "No connection. Check your internet and try again.",
    see_results: "See live results",
    go_vote: "Go to the voting page",

    live_results: "Live results",
    total_votes: "Total votes",
    votes_per_sec: "Votes per second",
    counted_up_to: "Counted up to {}",
    nothing_counted: "No votes counted yet",
    weighted_result: "Weighted result",
    weight: "weight {}",
    votes: "votes",
    stream_live: "Live",
    stream_reconnecting: "Reconnecting…",
    vote_curve: "Votes over time",
    share: "Vote here",
    qr_alt: "QR code of the voting page",
    results_after_close: "Results will be published when voting closes.",
    results_admin_only: "The results of this poll are not public.",

    admin: "Admin",
    username: "Username",
    password: "Password",
    log_in: "Log in",
    log_out: "Log out",
    login_failed: "Wrong username or password.",
    signed_in_as: "Signed in as {}",
    polls: "Polls",
    no_polls: "No polls yet.",
    new_poll: "New poll",
    edit_poll: "Edit poll",
    title: "Title",
    status: "Status",
    manage: "Manage",
    audit_log: "Audit log",
    when: "When",
    who: "Who",
    action: "Action",
    target: "Target",
    operations: "Operations",
    requests_per_sec: "Requests per second",
    error_rate: "Error rate",
    p99_latency: "p99 latency",
    queue_depth: "Votes waiting to commit",
    live_viewers: "Live viewers",
    redis: "Redis",
    last_minute: "this instance, last minute",

    slug: "Address",
    slug_hint: "Lower-case letters, digits and dashes: /p/<address>",
    description: "Description",
    options: "Options",
    option_n: "Option {}",
    image_url: "Image URL (optional)",
    add_option: "Add option",
    remove: "Remove",
    move_up: "Move up",
    move_down: "Move down",
    tracks: "Tracks",
    track_name: "Track name",
    rule: "Rule",
    rule_unlimited: "Unlimited votes",
    rule_once: "One vote per voter",
    add_track: "Add track",
    schedule: "Schedule",
    opens_at_label: "Opens at",
    closes_at_label: "Closes at",
    visibility: "Results visibility",
    vis_live: "Live, for everyone",
    vis_after_close: "After voting closes",
    vis_admin_only: "Admins only",
    ack_mode: "Acknowledgement",
    ack_durable: "Durable: after the vote is stored",
    ack_fast: "Fast: when the vote is queued",
    voter_identity: "Voter identity",
    identity_cookie: "Browser cookie",
    identity_token: "Voter token from the host's login",
    save: "Save",
    create_poll: "Create poll",
    saved: "Saved.",
    open_voting: "Open voting",
    close_voting: "Close voting",
    confirm_open: "Open voting now?",
    confirm_close: "Close voting now? Later votes are rejected.",
    yes: "Yes",
    cancel: "Cancel",
    export_csv: "Download CSV",
    back: "Back",
    failed: "Failed: {}",
    public_page: "Public page",
    webhook: "Webhook for committed counts (optional)",
    checking_robot: "Checking that you are not a robot…",
    needs_javascript: "This poll needs JavaScript: turn it on to vote.",
    invite_invalid: "This invite code is not valid.",
    identity_invite: "Single-use invite code",
    pow: "Proof of work per vote",
    pow_off: "Off",
    pow_auto: "Automatic (rises under attack)",
    pow_fixed: "Fixed difficulty",
    pow_difficulty: "Difficulty (1,000–10,000,000)",
    pow_now: "Proof of work: difficulty {} now, about {} s on a mid-range phone",
    invites: "Invite codes",
    invite_count: "How many",
    invites_csv: "Make codes (CSV)",
    invites_sheet: "Make codes (printable sheet)",
    invites_stats: "{} codes, {} used",
};

pub static PT_BR: Texts = Texts {
    language_name: "Português",
    switch_language: "English",
    loading: "Carregando…",
    not_found: "Página não encontrada",
    poll_not_found: "Não há votação neste endereço.",
    home_tagline: "Votação ao vivo para grandes audiências",
    home_body: "Cada voto só é confirmado depois de gravado, é contado exatamente e aparece ao vivo.",
    home_admin: "Gerenciar votações",

    status_draft: "Rascunho",
    status_scheduled: "Agendada",
    status_open: "Votação aberta",
    status_closed: "Votação encerrada",
    opens_at: "Abre em {}",
    closes_at: "Encerra em {}",
    track_unlimited: "Vote quantas vezes quiser",
    track_once: "Um voto por pessoa",
    vote_for: "Votar em {}",
    sending: "Enviando seu voto…",
    recorded: "Voto registrado. Obrigado!",
    recorded_again: "Voto registrado. Você pode votar de novo.",
    accepted: "Voto recebido. Será contado em instantes.",
    already_voted: "Você já votou nesta votação.",
    you_have_voted: "Você já votou.",
    not_open_yet: "A votação ainda não começou.",
    closed: "A votação está encerrada. Este voto não foi contado.",
    busy_retrying: "Muitos votos agora. Tentando de novo em {} s…",
    gave_up: "Não conseguimos registrar seu voto. Tente de novo.",
    need_token: "Esta votação exige um passe de eleitor do site do organizador.",
    option_gone: "Essa opção não existe mais. Recarregue a página.",
    network_error: "Sem conexão. Verifique sua internet e tente de novo.",
    see_results: "Ver resultados ao vivo",
    go_vote: "Ir para a votação",

    live_results: "Resultados ao vivo",
    total_votes: "Total de votos",
    votes_per_sec: "Votos por segundo",
    counted_up_to: "Contado até {}",
    nothing_counted: "Nenhum voto contado ainda",
    weighted_result: "Resultado ponderado",
    weight: "peso {}",
    votes: "votos",
    stream_live: "Ao vivo",
    stream_reconnecting: "Reconectando…",
    vote_curve: "Votos ao longo do tempo",
    share: "Vote aqui",
    qr_alt: "QR code da página de votação",
    results_after_close: "Os resultados serão publicados quando a votação encerrar.",
    results_admin_only: "Os resultados desta votação não são públicos.",

    admin: "Administração",
    username: "Usuário",
    password: "Senha",
    log_in: "Entrar",
    log_out: "Sair",
    login_failed: "Usuário ou senha incorretos.",
    signed_in_as: "Conectado como {}",
    polls: "Votações",
    no_polls: "Nenhuma votação ainda.",
    new_poll: "Nova votação",
    edit_poll: "Editar votação",
    title: "Título",
    status: "Situação",
    manage: "Gerenciar",
    audit_log: "Registro de auditoria",
    when: "Quando",
    who: "Quem",
    action: "Ação",
    target: "Alvo",
    operations: "Operação",
    requests_per_sec: "Requisições por segundo",
    error_rate: "Taxa de erros",
    p99_latency: "Latência p99",
    queue_depth: "Votos aguardando gravação",
    live_viewers: "Espectadores ao vivo",
    redis: "Redis",
    last_minute: "esta instância, último minuto",

    slug: "Endereço",
    slug_hint: "Letras minúsculas, dígitos e hífens: /p/<endereço>",
    description: "Descrição",
    options: "Opções",
    option_n: "Opção {}",
    image_url: "URL da imagem (opcional)",
    add_option: "Adicionar opção",
    remove: "Remover",
    move_up: "Subir",
    move_down: "Descer",
    tracks: "Trilhas",
    track_name: "Nome da trilha",
    rule: "Regra",
    rule_unlimited: "Votos ilimitados",
    rule_once: "Um voto por eleitor",
    add_track: "Adicionar trilha",
    schedule: "Agenda",
    opens_at_label: "Abre em",
    closes_at_label: "Encerra em",
    visibility: "Visibilidade dos resultados",
    vis_live: "Ao vivo, para todos",
    vis_after_close: "Após o encerramento",
    vis_admin_only: "Somente administradores",
    ack_mode: "Confirmação",
    ack_durable: "Durável: depois que o voto é gravado",
    ack_fast: "Rápida: quando o voto entra na fila",
    voter_identity: "Identidade do eleitor",
    identity_cookie: "Cookie do navegador",
    identity_token: "Token de eleitor do login do organizador",
    save: "Salvar",
    create_poll: "Criar votação",
    saved: "Salvo.",
    open_voting: "Abrir votação",
    close_voting: "Encerrar votação",
    confirm_open: "Abrir a votação agora?",
    confirm_close: "Encerrar a votação agora? Votos depois disso serão rejeitados.",
    yes: "Sim",
    cancel: "Cancelar",
    export_csv: "Baixar CSV",
    back: "Voltar",
    failed: "Falhou: {}",
    public_page: "Página pública",
    webhook: "Webhook das contagens gravadas (opcional)",
    checking_robot: "Verificando que você não é um robô…",
    needs_javascript: "Esta votação precisa de JavaScript: ative-o para votar.",
    invite_invalid: "Este código de convite não é válido.",
    identity_invite: "Código de convite de uso único",
    pow: "Prova de trabalho por voto",
    pow_off: "Desligada",
    pow_auto: "Automática (sobe sob ataque)",
    pow_fixed: "Dificuldade fixa",
    pow_difficulty: "Dificuldade (1.000–10.000.000)",
    pow_now: "Prova de trabalho: dificuldade {} agora, cerca de {} s num celular intermediário",
    invites: "Códigos de convite",
    invite_count: "Quantos",
    invites_csv: "Gerar códigos (CSV)",
    invites_sheet: "Gerar códigos (folha para imprimir)",
    invites_stats: "{} códigos, {} usados",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portuguese_browsers_get_portuguese() {
        assert_eq!(Locale::from_accept_language("pt-BR,pt;q=0.9,en;q=0.8"), Locale::PtBr);
        assert_eq!(Locale::from_accept_language("en-US,en;q=0.9,pt;q=0.5"), Locale::En);
        assert_eq!(Locale::from_accept_language(""), Locale::En);
    }

    #[test]
    fn the_two_languages_differ_where_words_are_shown() {
        assert_ne!(EN.recorded, PT_BR.recorded);
        assert_ne!(EN.closed, PT_BR.closed);
        assert_eq!(fill(EN.counted_up_to, "12:00:00"), "Counted up to 12:00:00");
    }
}
