//! Load harness: drives real `pingyi serve` processes over loopback and
//! prints accepted/s, refusals by reason, latency percentiles and errors.
//!
//! ```sh
//! cargo build --release --bin pingyi && cargo build --release -p pingyi-loadgen
//! target/release/loadgen --scenario all
//! target/release/loadgen --scenario submit --backend cluster --instances 2
//! target/release/loadgen --scenario citizen --repeat 3
//! ```
//!
//! The harness is a crate of its own so that building it builds neither
//! pingyi nor polars; it runs the server binary given by `--server-bin`
//! (default `target/release/pingyi`).
//!
//! The harness starts the servers itself (fresh data directory, demo data,
//! generous quotas unless the scenario is about quotas, `127.0.0.1` as the
//! trusted proxy so each simulated client brings its own address in
//! `X-Forwarded-For`), waits for them, runs the scenario at the requested
//! concurrency and reads each server's peak RSS (VmHWM) at the end.
//!
//! Scenarios: `views` (questionnaire page views), `submit` (fetch the forms of
//! many devices, then submit them all), `captcha` (captcha images), `flood`
//! (one address flooding among normal traffic), `botfarm` (rotating devices
//! and addresses inside one /24), `mixed` (a day's mix of views and
//! submissions), `all` (views, submit, captcha on the chosen backend), and
//! `citizen` (page views and view-and-submit cycles of new devices at the
//! default quotas, each beside a bare actix-web server in the same run: see
//! `scenarios/citizen`).
//!
//! `--default-quotas` runs `views` and `submit` at the service's default
//! quotas and captcha mode (`adaptive`), with every citizen from an address of
//! its own spread over tens of thousands of /24s, as a city's phones arrive.
//! Every scenario prints the settings it changes from the defaults.

mod bare;
mod options;
mod scenarios;
mod servers;
mod survey;
mod tally;

use options::Options;
use servers::Servers;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let o = options::parse();
    // The `citizen` scenario's ceiling server is this binary run again.
    if let Some(args) = &o.bare_server {
        return bare::serve(args);
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("could not start the runtime: {e}"))?
        .block_on(run(o))
}

async fn run(o: Options) -> Result<(), BoxError> {
    println!(
        "\nbackend: {} · instances: {} · concurrency: {} · {} s per phase · {} cores",
        o.backend,
        o.instances,
        o.concurrency,
        o.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let chosen: Vec<&str> = if o.scenario == "all" {
        vec!["views", "submit", "captcha"]
    } else {
        vec![o.scenario.as_str()]
    };
    // Before any server is started, so a typo leaves nothing running.
    if let Some(unknown) = chosen.iter().find(|s| !scenarios::NAMES.contains(*s)) {
        return Err(format!("unknown scenario {unknown}").into());
    }
    for scenario in chosen {
        let (captcha, generous) = scenarios::settings(scenario, &o);
        let servers = Servers::start(&o, captcha, generous).await?;
        let result = if scenario == "citizen" {
            // Prints its own tables and both servers' peak RSS.
            scenarios::citizen::run(&o, &servers).await
        } else {
            tally::header(&format!(
                "{scenario} ({} backend, {} instance(s))",
                o.backend, o.instances
            ));
            scenarios::run_classic(scenario, &o, &servers).await;
            let rss: Vec<String> = servers
                .peak_rss_mb()
                .iter()
                .map(|m| format!("{m:.0} MB"))
                .collect();
            println!("\nserver peak RSS: {}", rss.join(", "));
            Ok(())
        };
        servers.stop(&o);
        result?;
    }
    Ok(())
}
