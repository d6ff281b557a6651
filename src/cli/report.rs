//! `fer report`: run directories in, `report.md` with figures out.

use anyhow::Result;

use super::args::ReportArgs;
use super::say;
use fer::report::{write_report, EnsembleOutcome};

pub fn run(args: ReportArgs) -> Result<()> {
    let report = write_report(&args.runs, &args.out, &args.title)?;
    for warning in &report.warnings {
        say(format!("warning: {warning}"));
    }
    if let EnsembleOutcome::Skipped(reason) = &report.ensemble {
        say(format!("no ensemble: {reason}"));
    }
    say(format!(
        "wrote {} ({} runs, {} figures)",
        report.markdown.display(),
        report.table.len(),
        report.figures.len()
    ));
    Ok(())
}
