//! `sandbox`: the emulators on loopback. Its flags are [`SandboxArgs`], the clap mirror of the
//! sandbox crate's plain `SandboxOptions` (`examples/sandbox.rs` includes this file for the same
//! flags).

use super::Ran;
use patron_etl::exit;
use patron_etl::sandbox;
use std::path::PathBuf;

/// `sandbox` options: the clap mirror of [`sandbox::SandboxOptions`] (the sandbox crate has no
/// clap); the defaults are the same (`sandbox_args_defaults_are_the_options_defaults`).
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8765")]
    pub listen: String,
    /// File the sandbox state is written to (atomically) and reloaded from.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Seed for the fault decisions (same seed, same faults for a sequential client).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Answering time of every API request in milliseconds: no answer leaves sooner than
    /// this after its request arrived (the sandbox's own work included).
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Probability (0–1) of answering 500 without applying the request.
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Probability (0–1) of answering 429 with `Retry-After`.
    #[arg(long, default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Probability (0–1) of closing the connection without a response (not applied).
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Probability (0–1) that a write is applied and then the connection is closed.
    #[arg(long, default_value_t = 0.0)]
    pub apply_then_drop_rate: f64,
    /// Requests per second across the server; 429 beyond.
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Close the connection of the first N API requests without answering (e.g. the login).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub drop_first: u32,
    /// The `Retry-After` (seconds) of an injected or rate-limit 429 (default 1).
    #[arg(long, value_name = "SECS")]
    pub throttle_retry_after: Option<u64>,
    /// Minimum interval between Libib requests per account, in milliseconds (real Libib: 2000).
    #[arg(long, default_value_t = 2000)]
    pub libib_interval_ms: u64,
    /// FOLIO tenant.
    #[arg(long, default_value = "diku")]
    pub folio_tenant: String,
    /// FOLIO login user name.
    #[arg(long, default_value = "diku_admin")]
    pub folio_username: String,
    /// FOLIO login password.
    #[arg(long, default_value = "admin")]
    pub folio_password: String,
    /// FOLIO access-token lifetime in seconds (real default: 600).
    #[arg(long, default_value_t = 600)]
    pub folio_token_ttl_secs: u64,
    /// ILLiad `ApiKey`.
    #[arg(long, default_value = "sandbox-illiad-key")]
    pub illiad_api_key: String,
    /// ILLiad NVTGC values the sandbox accepts (repeatable).
    #[arg(long = "illiad-nvtgc", default_value = "ILL")]
    pub illiad_nvtgcs: Vec<String>,
    /// Libib `x-api-key`.
    #[arg(long, default_value = "sandbox-libib-key")]
    pub libib_api_key: String,
    /// Libib `x-api-user`.
    #[arg(long, default_value = "sandbox-user")]
    pub libib_api_user: String,
    /// Longest FOLIO request line (`GET /users?query=… HTTP/1.1`) in bytes; longer ones get 414
    /// (real: Vert.x `maxInitialLineLength`, 4096 by default).
    #[arg(long, default_value_t = sandbox::DEFAULT_MAX_REQUEST_LINE)]
    pub folio_max_request_line: usize,
    /// The ILLiad field `ExternalUserId` maps to (the API key's ExternalUserIDMapping; the
    /// vendor's default is `UserName`).
    #[arg(long, default_value = "UserName")]
    pub illiad_external_id_field: String,
    /// A permission the FOLIO login user lacks (repeatable; e.g. `users.item.post`): requests
    /// that need it get 403, to rehearse a first run with a half-configured service account.
    #[arg(long = "folio-deny-permission")]
    pub folio_denied_permissions: Vec<String>,
}

impl SandboxArgs {
    /// The sandbox crate's options these flags describe.
    pub fn options(&self) -> sandbox::SandboxOptions {
        sandbox::SandboxOptions {
            listen: self.listen.clone(),
            state: self.state.clone(),
            seed: self.seed,
            latency_ms: self.latency_ms,
            fail_rate: self.fail_rate,
            throttle_rate: self.throttle_rate,
            drop_rate: self.drop_rate,
            apply_then_drop_rate: self.apply_then_drop_rate,
            rate_limit: self.rate_limit,
            drop_first: self.drop_first,
            throttle_retry_after: self.throttle_retry_after,
            libib_interval_ms: self.libib_interval_ms,
            folio_tenant: self.folio_tenant.clone(),
            folio_username: self.folio_username.clone(),
            folio_password: self.folio_password.clone(),
            folio_token_ttl_secs: self.folio_token_ttl_secs,
            illiad_api_key: self.illiad_api_key.clone(),
            illiad_nvtgcs: self.illiad_nvtgcs.clone(),
            libib_api_key: self.libib_api_key.clone(),
            libib_api_user: self.libib_api_user.clone(),
            folio_max_request_line: self.folio_max_request_line,
            illiad_external_id_field: self.illiad_external_id_field.clone(),
            folio_denied_permissions: self.folio_denied_permissions.clone(),
        }
    }
}

/// Runs `sandbox`.
pub fn run(args: SandboxArgs, _home: PathBuf) -> anyhow::Result<Ran> {
    sandbox::run(&args.options())?;
    Ok((exit::OK, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    /// `patron-etl sandbox` with no flags runs the sandbox crate's default options, and each
    /// flag reaches its option.
    #[test]
    fn sandbox_args_defaults_are_the_options_defaults() {
        let cli = Cli::try_parse_from(["sandbox"]).expect("parses");
        assert_eq!(cli.args.options(), sandbox::SandboxOptions::default());
        let cli = Cli::try_parse_from([
            "sandbox",
            "--seed",
            "7",
            "--illiad-nvtgc",
            "A",
            "--illiad-nvtgc",
            "B",
            "--folio-deny-permission",
            "users.item.post",
        ])
        .expect("parses");
        let o = cli.args.options();
        assert_eq!(o.seed, 7);
        assert_eq!(o.illiad_nvtgcs, ["A", "B"]);
        assert_eq!(o.folio_denied_permissions, ["users.item.post"]);
    }
}
