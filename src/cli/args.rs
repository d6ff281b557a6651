//! The command line. `fer --help` and `fer <command> --help` are the manual.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use fer::train::schedule::ScheduleName;
use fer::train::Tta;

#[derive(Parser, Debug)]
#[command(
    name = "fer",
    version,
    about = "Train and evaluate FER2013 facial-expression classifiers (Burn), with live progress",
    long_about = "Train and evaluate FER2013 facial-expression classifiers (7 emotions, 48x48 grey faces).\n\n\
Quick start:\n  fer train                         train a small model on the bundled sample (a few hundred faces)\n  \
fer train --data fer2013.csv      train ResNet-18 on the full data set (Kaggle CSV, .csv.gz or image folders)\n  \
fer eval --run runs/<id>          evaluate the best checkpoint of a run\n  \
fer models                        list the architectures\n  \
fer watch runs/<id>               the dashboard of a run, from another terminal\n  \
fer ctl runs/<id> pause           steer a running run (also: resume, checkpoint, schedule, queue, stop)\n  \
fer report runs/<a> runs/<b>      compare finished runs: report/report.md with figures and analysis\n\n\
Every run writes runs/<YYYYmmdd-HHMMSS>-<model>/: config.ron, events.jsonl, metrics.csv, checkpoints/, summary.json.\n\
Exit codes: 0 success, 2 bad input or usage, 1 anything else."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a model (or resume a run) and evaluate it each epoch.
    Train(Box<TrainArgs>),
    /// Evaluate a run's checkpoint (or an ensemble of runs) on the validation or test split.
    Eval(EvalArgs),
    /// Predict the emotion of images (PNG/JPEG, any size) or of the rows of a CSV.
    Predict(PredictArgs),
    /// Summarise a data set: rows per split and emotion, pixel statistics.
    Data(DataArgs),
    /// List the model architectures with their parameter counts.
    Models,
    /// Measure training throughput (images/s) on synthetic batches; prints JSON.
    Bench(BenchArgs),
    /// List the compute backends compiled in and the devices each one finds.
    Devices(DevicesArgs),
    /// Open the dashboard of a run from another terminal (plain lines without one).
    Watch(WatchArgs),
    /// Steer a running run: pause, resume, checkpoint, schedule, queue, unqueue, stop.
    Ctl(CtlArgs),
    /// Compare finished runs: write report.md with a results table, figures and analysis.
    Report(ReportArgs),
}

#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    /// FER2013 data: fer2013.csv, fer2013.csv.gz, icml_face_data.csv, or a folder with train/ and test/.
    /// Without it, fer trains on a small sample bundled in the binary.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Architecture (see `fer models`). Default: resnet18, or resnet8 on the bundled sample.
    #[arg(long)]
    pub model: Option<String>,
    /// Number of epochs (with --resume: extend the run to this many).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Time budget: train for as many epochs as fit in M minutes, judged from the first
    /// epoch's speed (validation included), with the schedule scaled to end with them.
    /// The run then still saves its best checkpoint and evaluates the test split.
    #[arg(long, value_name = "M")]
    pub minutes: Option<f64>,
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Peak learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Learning-rate schedule.
    #[arg(long, value_enum)]
    pub schedule: Option<ScheduleName>,
    /// Linear warm-up length in epochs.
    #[arg(long, value_name = "EPOCHS")]
    pub warmup: Option<f64>,
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerName>,
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Label smoothing epsilon (0 disables).
    #[arg(long)]
    pub label_smoothing: Option<f64>,
    /// Mixup alpha (0 disables).
    #[arg(long)]
    pub mixup: Option<f64>,
    /// Weight the loss by inverse class frequency.
    #[arg(long)]
    pub class_balanced: bool,
    /// Turn off training augmentation (centre crops only).
    #[arg(long)]
    pub no_augment: bool,
    /// Side of the training and evaluation crops (pixels, at most 48).
    #[arg(long)]
    pub crop: Option<usize>,
    /// Test-time augmentation for validation and test.
    #[arg(long, value_enum)]
    pub tta: Option<Tta>,
    /// auto (CUDA if compiled in and a GPU answers, else CPU), cpu, cuda or cuda:N.
    #[arg(long)]
    pub device: Option<String>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where run directories are created.
    #[arg(long, default_value = "runs", value_name = "DIR")]
    pub runs_dir: PathBuf,
    /// Plain progress lines instead of the dashboard (automatic without a terminal).
    #[arg(long)]
    pub headless: bool,
    /// Dashboard without colours or Unicode (also when NO_COLOR is set).
    #[arg(long)]
    pub ascii: bool,
    /// Start from a config.ron (flags given here override it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint.
    #[arg(long, value_name = "RUN", conflicts_with = "config")]
    pub resume: Option<PathBuf>,
    /// Skip malformed data rows (and count them) instead of stopping.
    #[arg(long)]
    pub skip_bad_rows: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerName {
    /// SGD, momentum 0.9, Nesterov (PyTorch semantics).
    Sgd,
    /// AdamW (decoupled weight decay).
    Adamw,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SplitName {
    Val,
    Test,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The run directory (runs/<id>).
    #[arg(
        long,
        value_name = "RUN",
        required_unless_present = "runs",
        conflicts_with = "runs"
    )]
    pub run: Option<PathBuf>,
    /// Evaluate an ensemble of two or more runs instead: their softmax outputs are
    /// averaged image by image, with the same TTA (--tta, else the first run's) on the
    /// same data (--data, else the first run's).
    #[arg(long, value_name = "RUN", num_args = 2..)]
    pub runs: Vec<PathBuf>,
    /// Data to evaluate on (default: the run's own data).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "val")]
    pub split: SplitName,
    /// Test-time augmentation (default: the run's).
    #[arg(long, value_enum)]
    pub tta: Option<Tta>,
    /// Evaluate checkpoints/last.ckpt instead of best.ckpt.
    #[arg(long)]
    pub last: bool,
    #[arg(long, default_value = "auto")]
    pub device: String,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// The run directory (runs/<id>) whose best checkpoint predicts.
    #[arg(long, value_name = "RUN")]
    pub run: PathBuf,
    /// Image files (converted to grey, resized to 48x48) or FER2013 CSV files.
    #[arg(required = true, value_name = "IMAGE")]
    pub inputs: Vec<PathBuf>,
    #[arg(long, default_value = "auto")]
    pub device: String,
}

#[derive(Args, Debug)]
pub struct DataArgs {
    /// The data set (same formats as `fer train --data`). Without it: the bundled sample.
    pub file: Option<PathBuf>,
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Also write the loaded data to FILE in fer's compact cache format (u8 pixels,
    /// labels, splits; gzip when FILE ends in .gz), which every --data reads back.
    #[arg(long, value_name = "FILE")]
    pub export_cache: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DevicesArgs {
    /// One JSON object instead of lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[arg(long, default_value = "resnet20")]
    pub model: String,
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Crop side (the PyTorch reference's --size).
    #[arg(long, default_value_t = 40)]
    pub size: usize,
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Also time each phase of the step (gather+augment, forward, backward, optimizer,
    /// host read), waiting for the device after each one, and split forward and
    /// backward by kind of layer (convolutions, BatchNorm, the rest) from the CPU
    /// kernels' own clocks; adds `phases_ms` (with `by_layer`) to the JSON.
    #[arg(long)]
    pub profile: bool,
    /// Instead of speed: run --steps steps on real rows of --data (default: the bundled
    /// sample) from weights made on the CPU, and print each step's loss, for comparing
    /// devices. Use with --no-augment for a deterministic comparison.
    #[arg(long, conflicts_with = "profile")]
    pub parity: bool,
    /// Turn off augmentation (centre crops only).
    #[arg(long)]
    pub no_augment: bool,
    /// Data for --parity (same formats as `fer train --data`).
    #[arg(long, value_name = "FILE", requires = "parity")]
    pub data: Option<PathBuf>,
    /// Seed of the initial weights and of every random draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Learning rate of the steps (constant).
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
}

#[derive(Args, Debug)]
#[command(after_help = "\
On a terminal this is the same dashboard as `fer train`, fed by following RUN/events.jsonl \
(every 200 ms): a finished run shows its final state until you press q, a live one updates. \
Without --control the dashboard only looks; with it, its keys steer the run through the \
control channel, as `fer ctl` does, and q leaves without stopping the run.\n\n\
Without a terminal (a pipe, a log file) it prints the plain progress lines of the events so \
far and exits; with --follow it keeps printing until the run ends.")]
pub struct WatchArgs {
    /// The run directory (runs/<id>).
    #[arg(value_name = "RUN")]
    pub run: PathBuf,
    /// Let the dashboard's keys steer the run (pause, checkpoint, schedule, queue).
    #[arg(long)]
    pub control: bool,
    /// Dashboard without colours or Unicode (also when NO_COLOR is set).
    #[arg(long)]
    pub ascii: bool,
    /// Without a terminal: keep printing lines until the run ends (default: print what is there and exit).
    #[arg(long)]
    pub follow: bool,
}

#[derive(Args, Debug)]
#[command(after_help = "\
Works for any live `fer train` (dashboard or --headless). The command is dropped as a file into \
RUN/control/; the training process (its PID is in RUN/engine.pid) applies it between two steps \
and acknowledges it in RUN/events.jsonl, which is what fer ctl waits for.\n\
Exit codes: 0 applied; 2 no live run in RUN, the run refused the command, or no answer within \
--timeout; 1 anything else.\n\n\
Signals do two of these too: kill -USR1 <pid> saves a checkpoint, kill -TERM <pid> (or Ctrl-C) \
saves one and stops.")]
pub struct CtlArgs {
    /// The run directory (runs/<id>) of a running `fer train`.
    #[arg(value_name = "RUN")]
    pub run: PathBuf,
    #[command(subcommand)]
    pub action: CtlAction,
    /// Seconds to wait for the run to acknowledge the command.
    #[arg(long, default_value_t = 15.0, value_name = "SECONDS", global = true)]
    pub timeout: f64,
}

#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum CtlAction {
    /// Pause between two steps (checkpoint, schedule and queue still work while paused).
    Pause,
    /// Resume a paused run.
    Resume,
    /// Save RUN/checkpoints/last.ckpt now.
    Checkpoint,
    /// Switch the learning-rate schedule for the remaining steps.
    Schedule {
        #[arg(value_enum)]
        name: ScheduleName,
    },
    /// Train MODEL (see `fer models`) after this run: same settings, a new run directory.
    Queue { model: String },
    /// Remove the N-th queued model (1-based, as the dashboard's queue pane numbers them).
    Unqueue {
        #[arg(value_name = "N")]
        position: usize,
    },
    /// Save a checkpoint and stop (a stopped run does not start its queue).
    Stop,
}

#[derive(Args, Debug)]
#[command(after_help = "\
report.md holds: the runs and their settings; a results table with a row per run (parameters, MACs per image at \
the run's crop side, epochs, best-validation epoch, validation and test accuracy and macro-F1, \
training time, images/s, and the generalisation gap: training minus validation accuracy at \
the best epoch); the figures curves.png (accuracy and loss per epoch), lr.png (the learning \
rate per step), recall.png (validation recall per emotion) and confusion-<run>.png (the test \
confusion matrix, or the best epoch's validation one when there is no test split); the best \
ensemble of the runs' saved predictions, chosen on validation; and an analysis computed from \
the numbers: the ranking, the most confused emotions, which runs overfit and from which \
epoch, and how ResNet depth related to accuracy.\n\n\
Nothing is trained or evaluated: everything comes from the run directories (summary.json, \
metrics.csv, events.jsonl, predictions/). A run without summary.json (crashed) is reported \
from metrics.csv, one without any finished epoch is skipped with a warning.\n\
Exit codes: 0 written; 2 a path is not a run directory or a run's file is corrupt; 1 anything else.")]
pub struct ReportArgs {
    /// Run directories (runs/<id>), in the order the report lists them.
    #[arg(required = true, value_name = "RUN")]
    pub runs: Vec<PathBuf>,
    /// Output directory for report.md and the PNG figures (created if needed).
    #[arg(short, long, default_value = "report", value_name = "DIR")]
    pub out: PathBuf,
    /// The report's title.
    #[arg(long, default_value = "FER2013 training report")]
    pub title: String,
}
