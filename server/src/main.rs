//! The `cifd` binary: settings, logging, the data directory, the listener, signals.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use cifd::config::{Cli, Command, StartupError, operator_token};
use cifd::{
    AnyStore, CredentialKind, Store as _, hash_credential, issue_credential, store_location,
};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// mimalloc: with glibc's allocator cifd spent about a tenth of its CPU in malloc and free,
/// and held more memory per session (BENCHMARKS.md has the figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::load() {
        Ok(cli) => cli,
        Err(StartupError::Arguments(error)) => error.exit(),
        Err(error) => return fail(&error),
    };
    match &cli.command {
        Some(Command::Backup { to }) => {
            return match AnyStore::backup(&store_location(&cli, ""), to) {
                Ok(()) => {
                    println!(
                        "cifd: backed up {} to {}",
                        cli.data_dir.display(),
                        to.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => fail(&error),
            };
        }
        Some(Command::Restore { from }) => {
            return match AnyStore::restore(from, &store_location(&cli, "")) {
                Ok(log_id) => {
                    println!(
                        "cifd: restored {} into {} with the new log id {log_id}",
                        from.display(),
                        cli.data_dir.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => fail(&error),
            };
        }
        None => {}
    }
    let filter = match EnvFilter::try_new(&cli.log) {
        Ok(filter) => filter,
        Err(error) => return fail(&format!("--log {:?}: {error}", cli.log)),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let given = match operator_token(&cli, std::env::var("CIF_ADMIN_TOKEN").ok()) {
        Ok(given) => given,
        Err(error) => return fail(&error),
    };
    // Declarations are read (and a bad file refused) before the data directory is opened.
    let declared = match cifd::config::load_declarations(cli.config.as_deref()) {
        Ok(declared) => declared,
        Err(error) => return fail(&error),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the runtime: {error}")),
    };
    if let Err(error) = cli.check_plaintext() {
        return fail(&error);
    }
    // Bound before the state is opened: a replica announces where it takes calls.
    let listener = match runtime.block_on(TcpListener::bind(cli.listen)) {
        Ok(listener) => listener,
        Err(error) => return fail(&format!("cannot listen on {}: {error}", cli.listen)),
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => return fail(&format!("cannot read the bound address: {error}")),
    };
    let advertised = cifd::advertised(&cli, address);
    let mut opened = match cifd::open_state(&cli, &advertised) {
        Ok(opened) => opened,
        Err(error) => return fail(&error),
    };
    // A given token wins; otherwise the one generated on the data directory's first start
    // stays, and only a new one is shown (once).
    let (operator, shown) = match (given, opened.stored_operator_credential()) {
        (Some(token), _) => (hash_credential(&token), None),
        (None, Some(stored)) => (stored, None),
        (None, None) => {
            let (token, hash) = issue_credential(CredentialKind::Operator);
            if let Err(error) = opened.store_operator_credential(&hash) {
                return fail(&error);
            }
            (hash, Some(token))
        }
    };
    runtime.block_on(async {
        // Where the state is, for the log: never the store's password (it is not in the URL).
        let state = match (opened.is_durable(), &cli.store) {
            (false, _) => "(in memory)".to_owned(),
            (true, Some(url)) => url.clone(),
            (true, None) => cli.data_dir.display().to_string(),
        };
        // Announced once the state is ready (the config file's declarations applied).
        let scheme = cli.scheme();
        let ready = move || {
            let mut stdout = std::io::stdout().lock();
            if let Some(token) = &shown {
                // Shown once: the server keeps only its hash.
                let _ = writeln!(
                    stdout,
                    "cifd operator token (generated, shown once): {token}"
                );
            }
            // The agent desk, on the same port (sign in with an agent's credential).
            let _ = writeln!(stdout, "cifd desk at {scheme}://{address}/desk/");
            let _ = writeln!(stdout, "cifd listening on {address}");
            let _ = stdout.flush();
            tracing::info!(
                %address,
                version = env!("CARGO_PKG_VERSION"),
                %state,
                "serving cif.v1"
            );
        };
        match cifd::serve(
            &cli,
            opened,
            declared,
            listener,
            operator,
            ready,
            shutdown_signal(),
        )
        .await
        {
            Ok(()) => {
                tracing::info!("stopped");
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error),
        }
    })
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("cifd: {error}");
    ExitCode::from(2)
}

/// Completes on SIGINT or SIGTERM. The handlers are installed when this is called, not when
/// the future is first polled: the server announces it is listening before it polls it, and a
/// signal in between must shut it down cleanly, not kill it.
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        let installed = |kind: SignalKind, name: &'static str| {
            let handler = signal(kind)
                .inspect_err(|error| tracing::warn!("cannot listen for {name}: {error}"))
                .ok();
            async move {
                match handler {
                    Some(mut handler) => drop(handler.recv().await),
                    None => std::future::pending::<()>().await,
                }
            }
        };
        (
            installed(SignalKind::interrupt(), "SIGINT"),
            installed(SignalKind::terminate(), "SIGTERM"),
        )
    };
    #[cfg(not(unix))]
    let (interrupt, terminate) = (
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
        std::future::pending::<()>(),
    );
    async move {
        tokio::select! {
            () = interrupt => tracing::info!("SIGINT: shutting down"),
            () = terminate => tracing::info!("SIGTERM: shutting down"),
        }
    }
}
