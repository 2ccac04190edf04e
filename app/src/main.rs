use std::io::Read;

use anyhow::Context;
use clap::Parser;
use secrecy::SecretString;
use urna::settings::{Cli, Command};
use urna::{Application, Settings, db, vote};

// glibc malloc showed up as ~9% of the vote path's CPU under load: requests,
// parcels and answers are allocated on one thread and freed on another.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("URNA_ADMIN_PASSWORD") {
        return Ok(p);
    }
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).context("reading the password from standard input")?;
    Ok(s.trim_end_matches(['\r', '\n']).to_owned())
}

/// The database of `args`, migrated to the current schema.
async fn migrated(args: &urna::settings::DbArgs) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let conn = db::connect(&args.url()?, 1).await?;
    use migration::MigratorTrait;
    migration::Migrator::up(&conn, None).await.context("running migrations")?;
    Ok(conn)
}

/// The host a browser on this machine reaches a server bound at `bind` by.
fn local_host(bind: &str) -> String {
    let host = bind.rsplit_once(':').map_or("127.0.0.1", |(h, _)| h);
    if matches!(host, "0.0.0.0" | "[::]" | "") { "127.0.0.1".into() } else { host.into() }
}

#[allow(clippy::print_stdout, reason = "the CLI prints its answers: a minted token, a setup hint")]
#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    urna::ops::init_logs(urna::ops::LogFormat::from_env());
    match Cli::parse().command {
        Command::Serve(args) => {
            let settings = Settings::from_args(args)?;
            let host = local_host(&settings.bind);
            let app = Application::build(settings).await?;
            let origin = format!("http://{host}:{}", app.port());
            if let Some(path) = app.setup_path() {
                // On standard output, not in the logs: the link is a
                // one-time secret, void within the hour or once an admin exists.
                println!("\nNo admin yet. Create the first one within the hour at:\n\n    {origin}{path}\n");
            }
            app.run_until_stopped().await
        }
        Command::Migrate(args) => {
            let url = args.url()?;
            let conn = db::connect(&url, 1).await?;
            use migration::MigratorTrait;
            migration::Migrator::up(&conn, None).await.context("running migrations")?;
            println!("migrations applied to {}", db::redact(&url));
            Ok(())
        }
        Command::CreateAdmin(args) => {
            let password = read_password()?;
            urna::admin::check_new_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
            let conn = migrated(&args.db).await?;
            let hash = urna::admin::hash_password(&password)?;
            let id = db::mutation::create_admin(&conn, &args.username, &hash, args.role.as_str()).await?;
            println!("created {} {:?} (id {id})", args.role.as_str(), args.username);
            Ok(())
        }
        Command::ResetAdmin(args) => {
            let password = read_password()?;
            let conn = migrated(&args.db).await?;
            let ended = urna::admin::reset_admin(&conn, &args.username, &password).await?;
            println!("reset {:?}: new password, two-step login off, {ended} session(s) ended", args.username);
            Ok(())
        }
        Command::Verify(args) => urna::verify::run(args).await,
        Command::MintVoterToken(args) => {
            let exp = chrono::Utc::now().timestamp() + args.ttl_secs;
            println!("{}", vote::mint_token(&SecretString::from(args.secret), &args.voter_id, exp));
            Ok(())
        }
    }
}
