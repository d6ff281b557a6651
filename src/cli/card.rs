//! `fer card RUN`: rewrites the run's model card and says where it is.

use anyhow::Result;

use super::args::CardArgs;
use super::say;
use fer::run::RunDir;

pub fn run(args: CardArgs) -> Result<()> {
    let run = RunDir::open(&args.run)?;
    let path = fer::report::write_model_card(&run)?;
    say(path.display());
    Ok(())
}
