//! `fer data` and `fer models`.

use anyhow::Result;

use super::args::DataArgs;
use super::load_dataset;

pub fn data(args: DataArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let dataset = load_dataset(args.file.as_deref(), args.skip_bad_rows, 0)?;
    let seconds = started.elapsed().as_secs_f64();
    print!("{}", fer::data::summary(&dataset));
    println!("loaded in {seconds:.2} s");
    if let Some(path) = &args.export_cache {
        let bytes = super::cache::write(&dataset, path)?;
        println!("cache written: {} ({bytes} bytes)", path.display());
    }
    Ok(())
}

pub fn models() -> Result<()> {
    print!("{}", fer::model::model_table());
    Ok(())
}
