//! `pim-emulator --listen 127.0.0.1:0 --scenario demo|empty|bulk:N [--latency-ms N] [--seed-file FILE]
//!  [--write-rate N] [--fail-rate F] [--throttle-rate F] [--lost-response-rate F] [--reset-rate F]
//!  [--slow-rate F] [--slow-ms N] [--fault-seed N] [--fault-schedule RULE]... [--gate-after N]
//!  [--tls-ca-out FILE] [--form KEY=VALUE]...`
//!
//! Prints `listening http://HOST:PORT` as its first line, then serves until killed. When fault
//! rates are set, the seed behind them goes to standard error (`fault seed N`), to replay a run.

use std::io::Write;
use std::time::Duration;

use clap::Parser;
use pim_emulator::{Config, FaultConfig, Scenario};

#[derive(Parser, Debug)]
#[command(name = "pim-emulator", version, about = "A local emulator of the Microsoft Graph PIM approval endpoints")]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// demo, empty, or bulk:N (N pending directory-role requests for the default approver).
    #[arg(long, default_value = "demo")]
    scenario: Scenario,
    /// Delay added to every answer on a PIM route, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// A Graph list response (`{"value": [...]}`) whose requests are added as pending.
    #[arg(long)]
    seed_file: Option<std::path::PathBuf>,
    /// Decisions allowed per second per token (a token bucket); beyond it, 429 with Retry-After.
    /// 0 means unlimited.
    #[arg(long, default_value_t = 0.0)]
    write_rate: f64,
    /// Fraction (0-1) of PIM calls answered 503.
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
    /// Fraction (0-1) of PIM calls answered 429 with Retry-After (seconds, fractional, or a date).
    #[arg(long, default_value_t = 0.0)]
    throttle_rate: f64,
    /// Fraction (0-1) of decisions applied and then left unanswered (the connection dropped).
    #[arg(long, default_value_t = 0.0)]
    lost_response_rate: f64,
    /// Fraction (0-1) of PIM calls whose connection is reset before anything is done.
    #[arg(long, default_value_t = 0.0)]
    reset_rate: f64,
    /// Fraction (0-1) of PIM calls answered only after --slow-ms (the work done first).
    #[arg(long, default_value_t = 0.0)]
    slow_rate: f64,
    /// How long a slow answer takes, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    slow_ms: u64,
    /// Seeds the fault rates, to replay a run (a seed from the clock when not given).
    #[arg(long)]
    fault_seed: Option<u64>,
    /// A fault by schedule, FAULT@COUNTER:NUMBERS (e.g. `throttle@write:3,7,20`, `lost@write:5+5n`,
    /// `fail@call:1-4`); FAULT: fail, throttle, reset, slow, lost; COUNTER: call, read, write.
    /// Repeat for more rules.
    #[arg(long, value_name = "RULE")]
    fault_schedule: Vec<String>,
    /// Hold every decision after the first N, unapplied, until `POST /_emulator/gate {"open": true}`.
    #[arg(long, value_name = "N")]
    gate_after: Option<u64>,
    /// Serve https, with a certificate signed by a CA made at start; its PEM is written to FILE
    /// (trust it, e.g. with SSL_CERT_FILE, to reach the emulator).
    #[arg(long, value_name = "FILE")]
    tls_ca_out: Option<std::path::PathBuf>,
    /// Where Microsoft's sources disagree or are silent, answer in this form (repeatable), e.g.
    /// `group.stageId=own`, `arm.decisionBody=properties`, `replication=reads:2`; see --help.
    #[arg(long, value_name = "KEY=VALUE", long_help = pim_emulator::forms::HELP)]
    form: Vec<String>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let seed = match &args.seed_file {
        None => None,
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::from_str(&s).map_err(|e| format!("not valid JSON: {e}")))
        {
            Ok(v) => Some(v),
            Err(e) => {
                eprintln!("pim-emulator: cannot load seed file {}: {e}", path.display());
                std::process::exit(2);
            }
        },
    };
    let config = Config {
        scenario: args.scenario,
        latency: Duration::from_millis(args.latency_ms),
        seed,
        write_rate: args.write_rate,
        faults: FaultConfig {
            fail_rate: args.fail_rate,
            throttle_rate: args.throttle_rate,
            lost_response_rate: args.lost_response_rate,
            reset_rate: args.reset_rate,
            slow_rate: args.slow_rate,
            slow_ms: Some(args.slow_ms),
            schedule: args.fault_schedule.clone(),
            seed: args.fault_seed,
        },
        gate_after: args.gate_after,
        tls: args.tls_ca_out.is_some(),
        forms: args.form.clone(),
    };
    let rates = [args.fail_rate, args.throttle_rate, args.lost_response_rate, args.reset_rate, args.slow_rate];
    let running = match pim_emulator::start(&args.listen, config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pim-emulator: {e}");
            std::process::exit(2);
        }
    };
    if let (Some(path), Some(pem)) = (&args.tls_ca_out, &running.ca_pem)
        && let Err(e) = std::fs::write(path, pem)
    {
        eprintln!("pim-emulator: cannot write the CA to {}: {e}", path.display());
        std::process::exit(2);
    }
    println!("listening {}", running.base_url);
    let _ = std::io::stdout().flush();
    if rates.iter().any(|r| *r > 0.0) {
        eprintln!("pim-emulator: fault seed {} (replay with --fault-seed {0})", running.fault_seed());
    }
    let _ = tokio::signal::ctrl_c().await;
}
