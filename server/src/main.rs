//! The `cifd` binary: settings, logging, the listener, signals.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use cifd::auth::hash_credential;
use cifd::config::{Cli, StartupError, operator_token};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = match Cli::load() {
        Ok(cli) => cli,
        Err(StartupError::Arguments(error)) => error.exit(),
        Err(error) => return fail(&error),
    };
    let filter = match EnvFilter::try_new(&cli.log) {
        Ok(filter) => filter,
        Err(error) => return fail(&format!("--log {:?}: {error}", cli.log)),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let operator = match operator_token(&cli, std::env::var("CIF_ADMIN_TOKEN").ok()) {
        Ok(operator) => operator,
        Err(error) => return fail(&error),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the runtime: {error}")),
    };
    runtime.block_on(async {
        let listener = match TcpListener::bind(cli.listen).await {
            Ok(listener) => listener,
            Err(error) => return fail(&format!("cannot listen on {}: {error}", cli.listen)),
        };
        let address = match listener.local_addr() {
            Ok(address) => address,
            Err(error) => return fail(&format!("cannot read the bound address: {error}")),
        };
        {
            let mut stdout = std::io::stdout().lock();
            if operator.generated {
                // Shown once: the server keeps only its hash.
                let _ = writeln!(
                    stdout,
                    "cifd operator token (generated, shown once): {}",
                    operator.token
                );
            }
            let _ = writeln!(stdout, "cifd listening on {address}");
            let _ = stdout.flush();
        }
        tracing::info!(%address, version = env!("CARGO_PKG_VERSION"), "serving cif.v1");
        match cifd::serve(
            &cli,
            listener,
            hash_credential(&operator.token),
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

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!("cannot listen for SIGTERM: {error}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => tracing::info!("SIGINT: shutting down"),
        () = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}
