//! `isolint confirm`, and the confirmations `isolint report --database-url` shows: the server
//! to run on (the one `--database-url` names, else a private one started for the run) and each
//! finding run there.

use std::io::Write;
use std::process::ExitCode;

use super::check::{analyse, default_level, project_config};
use super::{CliError, ConfirmArgs, ConfirmFormat, DatabaseArgs, check_args, emit};
use crate::CheckResult;
use crate::config::Config;
use crate::report;

/// `isolint confirm`: each finding's witness on a real PostgreSQL. Exit 1 when one is
/// reproduced, 0 when none is, 2 when the tool could not run.
pub(super) fn confirm(args: ConfirmArgs, stdout: &mut impl Write) -> Result<ExitCode, CliError> {
    let mut check = check_args(&args.project);
    // The rules asked for run even when they are opt-in.
    check.select = args.rule.clone();
    let (mut result, options) = analyse(&check)?;
    if !args.finding.is_empty() {
        let keep: Vec<bool> = result
            .findings
            .iter()
            .map(|finding| {
                args.finding
                    .contains(&report::fingerprint(&result, finding))
            })
            .collect();
        let mut kept = keep.into_iter();
        result.findings.retain(|_| kept.next().unwrap_or(false));
    }
    let config = project_config(&check)?;
    confirm_findings(&mut result, &args.database, config.as_ref())?;
    let text = match args.format {
        ConfirmFormat::Json => report::json::render(&result, default_level(&options, &result)),
        ConfirmFormat::Human => report::confirmations::render(&result),
    };
    emit(args.project.output.as_deref(), &text, stdout)?;
    let reproduced = result
        .confirmations
        .values()
        .any(|confirmation| confirmation.verdict == crate::confirm::Verdict::Reproduced);
    Ok(if reproduced {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs every finding of `result` on the database, with progress on standard error: on the
/// server `--database-url` names, else on a private one started for the run.
pub(super) fn confirm_findings(
    result: &mut CheckResult,
    database: &DatabaseArgs,
    config: Option<&Config>,
) -> Result<(), CliError> {
    use crate::confirm;
    use crate::confirm::database::Flavor;
    let Some(flavor) = Flavor::of(result.engine) else {
        return Err(CliError::Confirm(format!(
            "confirm runs findings on PostgreSQL (--engine postgres) and on MariaDB or MySQL \
             (--engine mysql, --engine mariadb); this project is checked as {}, which has no \
             server here to run them on. Its findings stand as the check reports them; pass \
             one of those engines if the project's SQL runs there too",
            result.engine.id()
        )));
    };
    let mut setup =
        confirm::Setup::new(result, database.seed.as_deref()).map_err(CliError::Confirm)?;
    if let Some(config) = config {
        setup = setup.with_setup_files(config).map_err(CliError::Confirm)?;
    }
    // Dropped after everything that uses it: a private server outlives its databases.
    let (_private_postgres, _private_mariadb);
    let progress = |message: &str| eprintln!("isolint: {message}");
    let url = match (&database.database_url, flavor) {
        (Some(url), _) => url.clone(),
        (None, Flavor::Postgres) => {
            let cluster = confirm::cluster::Cluster::start(&progress).map_err(CliError::Confirm)?;
            let url = cluster.url();
            _private_postgres = cluster;
            url
        }
        (None, Flavor::Mysql) => {
            let server = confirm::mariadb::Mariadb::start(&progress).map_err(CliError::Confirm)?;
            let url = server.url();
            _private_mariadb = server;
            url
        }
    };
    let server = confirm::database::Database::new(&url).map_err(CliError::Confirm)?;
    if server.flavor() != flavor {
        return Err(CliError::Confirm(format!(
            "this project is checked as {}, whose findings run on {}, and --database-url names \
             a {} server; pass a {} URL",
            result.engine.id(),
            flavor.name(),
            server.flavor().name(),
            match flavor {
                Flavor::Postgres => "postgres://",
                Flavor::Mysql => "mysql://",
            }
        )));
    }
    // Fail early when the server cannot be reached.
    server.connect().map_err(CliError::Confirm)?;
    for left_out in setup
        .migrations
        .left_out
        .iter()
        .chain(&setup.setup_files.left_out)
    {
        eprintln!("isolint: migration statement left out: {left_out}");
    }
    for note in &setup.migrations.notes {
        eprintln!("isolint: {note}");
    }
    eprintln!(
        "isolint: running {} migration file{} in a throwaway database",
        setup.migrations.scripts.len(),
        if setup.migrations.scripts.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    let schema = confirm::Schema::build(&server, &setup).map_err(CliError::Confirm)?;
    const SHOWN_FAILURES: usize = 20;
    for failure in schema.failures().iter().take(SHOWN_FAILURES) {
        eprintln!("isolint: migration failed: {failure}");
    }
    if schema.failures().len() > SHOWN_FAILURES {
        eprintln!(
            "isolint: ... and {} more migration statements failed",
            schema.failures().len() - SHOWN_FAILURES
        );
    }
    let total = result.findings.len();
    for (index, finding) in result.findings.iter().enumerate() {
        eprintln!(
            "isolint: confirming {}/{total}: {} ({})",
            index + 1,
            finding.rule.id(),
            finding
                .programs
                .iter()
                .map(|program| result.programs[*program].name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let confirmation = confirm::confirm(&schema, result, &setup, finding);
        result.confirmations.insert(index, confirmation);
    }
    Ok(())
}
