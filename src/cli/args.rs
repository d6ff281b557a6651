//! The command line. `fer --help` and `fer <command> --help` are the manual.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use fer::run::overrides::ConfigOverrides;
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
fer queue add resnet20 --epochs 30 queue a run (runs/queue.ron); `fer queue run` trains the queue\n  \
fer study experiments/seed-study.ron   queue a whole study, train it, write its report\n  \
fer report runs/<a> runs/<b>      compare finished runs: report/report.md with figures and analysis\n  \
fer card runs/<id>                rewrite a run's model card (runs/<id>/model-card.md): data, scores, how to feed it, limits\n\n\
Every run writes runs/<YYYYmmdd-HHMMSS>-<model>/: config.ron, events.jsonl, metrics.csv, checkpoints/, summary.json, predictions/, model-card.md.\n\
Exit codes: 0 success, 2 bad input or usage, 1 anything else (a diverged run, files the disk never took: see README, Reliability)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a model (or resume a run) and evaluate it each epoch; then train what
    /// waits in the queue (RUNS_DIR/queue.ron), unless the run was stopped.
    Train(Box<TrainArgs>),
    /// Evaluate a run's checkpoint (or an ensemble of runs) on the validation or test split.
    Eval(EvalArgs),
    /// The emotion of every face in photos (PNG/JPEG, files or folders), of face
    /// crops (--no-detect) or of the rows of a FER2013 CSV.
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
    /// Every run of a runs directory on one board: state, epochs, scores, speed, curves;
    /// steer, open, compare and report from it.
    Runs(RunsArgs),
    /// Steer a running run: pause, resume, checkpoint, schedule, queue, unqueue, stop.
    Ctl(CtlArgs),
    /// Compare finished runs: write report.md with a results table, figures and analysis.
    Report(ReportArgs),
    /// Rewrite a run's model card, RUN/model-card.md, which every run writes when it ends.
    Card(CardArgs),
    /// The run queue (runs/queue.ron): add, list, remove, clear, run.
    Queue(QueueArgs),
    /// Queue every run of a study file, train them one after another, then write the report.
    Study(StudyArgs),
    /// Start the orchestrator that the nodes of a multi-node run meet at
    /// (`fer train --nodes N ... --orchestrator ws://THIS_HOST:PORT`).
    Orchestrator(OrchestratorArgs),
}

#[derive(Args, Debug)]
#[command(after_help = "\
Every node of a multi-node run registers here, then the nodes exchange gradients \
with each other directly (each at its --node-address). Start it first, on any machine \
the nodes reach; it runs until Ctrl-C.\n\n\
Example, two machines with two GPUs each:\n  \
host-a$ fer orchestrator --port 3000\n  \
host-a$ fer train --data fer2013.csv --devices cuda:0,cuda:1 --nodes 2 --node-rank 0 \\\n          \
--orchestrator ws://host-a:3000 --node-address ws://host-a:3001\n  \
host-b$ fer train --data fer2013.csv --devices cuda:0,cuda:1 --nodes 2 --node-rank 1 \\\n          \
--orchestrator ws://host-a:3000 --node-address ws://host-b:3001")]
pub struct OrchestratorArgs {
    /// The port to listen on (all interfaces).
    #[arg(long, value_name = "PORT", default_value_t = 3000)]
    pub port: u16,
}

/// Data-parallel training over several devices and processes.
#[derive(Args, Debug, Default)]
pub struct ParallelArgs {
    /// One replica per device, e.g. cuda:0,cuda:1 (cpu,cpu works for trying it):
    /// --batch-size is the global batch, split evenly; gradients and BatchNorm
    /// statistics are averaged every step, so the replicas stay identical.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = fer::device::checked_name, conflicts_with = "device")]
    pub devices: Vec<String>,
    /// Processes (machines) in the run; each is started with the same flags and its
    /// own --node-rank. Needs --node-rank, --orchestrator and --node-address.
    #[arg(long, value_name = "N", requires_all = ["node_rank", "orchestrator", "node_address"])]
    pub nodes: Option<u32>,
    /// This process's rank, 0..N. Rank 0 writes the checkpoints and drives the
    /// schedule (its LR and its keys steer every node).
    #[arg(long, value_name = "R", requires = "nodes")]
    pub node_rank: Option<u32>,
    /// Where `fer orchestrator` listens: ws://HOST:PORT.
    #[arg(long, value_name = "URL", requires = "nodes")]
    pub orchestrator: Option<String>,
    /// Where the other nodes reach this one: ws://THIS_HOST:PORT (PORT is opened here).
    #[arg(long, value_name = "URL", requires = "nodes")]
    pub node_address: Option<String>,
    /// Seconds a replica waits for the others before the run fails with this named
    /// (a node lost; rank 0 paused that long). Resume with --resume on rank 0.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub collective_timeout: u64,
}

#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    #[command(flatten)]
    pub overrides: ConfigOverrides,
    #[command(flatten)]
    pub view: ViewArgs,
    /// Where run directories (and the queue, queue.ron) are.
    #[arg(long, default_value = "runs", value_name = "DIR")]
    pub runs_dir: PathBuf,
    /// Start from a config.ron (flags given here override it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint (--epochs,
    /// --minutes, --device and --lr may change; other settings stay the run's).
    #[arg(long, value_name = "RUN", conflicts_with = "config")]
    pub resume: Option<PathBuf>,
    #[command(flatten)]
    pub parallel: ParallelArgs,
}

/// How a long-running command shows its progress.
#[derive(Args, Clone, Copy, Debug, Default)]
pub struct ViewArgs {
    /// Plain progress lines instead of the dashboard (automatic without a terminal).
    #[arg(long)]
    pub headless: bool,
    /// Dashboard without colours or Unicode (also when NO_COLOR is set).
    #[arg(long)]
    pub ascii: bool,
}

impl ViewArgs {
    /// The dashboard, rather than plain lines: asked for, and on a terminal.
    pub fn interactive(&self) -> bool {
        use std::io::IsTerminal;
        !self.headless && std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PredictFormat {
    Table,
    Json,
    Csv,
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
    /// auto (CUDA, then a discrete or integrated Vulkan GPU, else the CPU), cpu,
    /// cuda, cuda:N, wgpu (the best Vulkan adapter) or wgpu:N; `fer devices` lists them.
    #[arg(long, default_value = "auto", value_parser = fer::device::checked_name)]
    pub device: String,
}

#[derive(Args, Debug)]
#[command(after_help = "\
Faces are found with SeetaFace's frontal detector (embedded), cropped square with 10% margin \
on each side, turned grey and resized to 48x48 like the training images, then classified \
with the run's TTA. One record per face: file, face index, box [x, y, w, h] in the original \
image's pixels, detector score, emotion, and the 7 probabilities in FER2013 label order: \
angry, disgust, fear, happy, sad, surprise, neutral. An image without a face gives a record \
that says so; a file that cannot be read is named with the reason and the others go on.\n\
Exit codes: 0 when every file was read, 2 when any was not.")]
pub struct PredictArgs {
    /// The run directory (runs/<id>) whose best checkpoint predicts.
    #[arg(long, value_name = "RUN")]
    pub run: PathBuf,
    /// Photos (PNG/JPEG), folders of them (searched recursively, other files skipped)
    /// or FER2013 CSV files (each row a 48x48 face).
    #[arg(required = true, value_name = "PATH")]
    pub inputs: Vec<PathBuf>,
    /// table (default on a terminal), json (default otherwise) or csv.
    #[arg(long, value_enum)]
    pub format: Option<PredictFormat>,
    /// The smallest face to look for, in pixels of the photo (at least 20).
    #[arg(long, value_name = "PX", default_value_t = 40)]
    pub min_face: u32,
    /// The images already are face crops: classify each whole image, find no faces.
    #[arg(long)]
    pub no_detect: bool,
    /// Also write each image, same size and format, with its faces' boxes and labels
    /// drawn, into DIR (folders keep their layout below it).
    #[arg(long, value_name = "DIR")]
    pub annotate: Option<PathBuf>,
    /// auto (CUDA, then a discrete or integrated Vulkan GPU, else the CPU), cpu,
    /// cuda, cuda:N, wgpu (the best Vulkan adapter) or wgpu:N; `fer devices` lists them.
    #[arg(long, default_value = "auto", value_parser = fer::device::checked_name)]
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
    /// auto (CUDA, then a discrete or integrated Vulkan GPU, else the CPU), cpu,
    /// cuda, cuda:N, wgpu (the best Vulkan adapter) or wgpu:N; `fer devices` lists them.
    #[arg(long, default_value = "auto", value_parser = fer::device::checked_name)]
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
One line per run directory of RUNS_DIR (and per run waiting in RUNS_DIR/queue.ron): id, model, \
state (running, paused, finished, stopped, crashed, failed, diverged, queued; unreadable when \
its files cannot be read), epoch/total, best validation and test accuracy (%), images/s, \
elapsed time and a sparkline of the validation accuracy per epoch. Everything is read from \
the run directories (events.jsonl, metrics.csv, summary.json, engine.pid); a run no process \
trains whose events end without a finish is shown as crashed.\n\n\
Without a terminal (a pipe) it prints the table and exits. On a terminal it is a board, \
read again every second:\n  \
up/down, j/k   select a run\n  \
enter          open its dashboard (a live run with --control, as `fer watch --control`); q or esc comes back\n  \
o / O          cycle the sort column (start, model, state, best val, elapsed) / reverse it\n  \
/              filter by id or model (enter keeps it, esc clears it)\n  \
f              cycle the state filter (all, live, finished, failed/crashed)\n  \
p              pause or resume the selected live run (as `fer ctl RUN pause|resume`)\n  \
s              save a checkpoint of the selected live run now\n  \
x              stop the selected live run (asks y/n first)\n  \
space          mark or unmark the selected run\n  \
r              write a report of the marked runs (or the selected one) to RUNS_DIR/report-<time>/\n  \
c              compare the curves (val accuracy, train loss) of the two marked runs\n  \
?              the keys\n  \
q              quit the board (no run is stopped)\n\
Exit codes: 0 listed; 2 RUNS_DIR does not exist; 1 anything else.")]
pub struct RunsArgs {
    /// Where run directories (and the queue, queue.ron) are.
    #[arg(long, default_value = "runs", value_name = "DIR")]
    pub runs_dir: PathBuf,
    /// Board without colours or Unicode (also when NO_COLOR is set).
    #[arg(long)]
    pub ascii: bool,
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
    /// Switch the learning-rate schedule for the remaining steps; it continues from
    /// the current LR. Settings not given with --set keep the run's values.
    #[command(after_help = "\
Settings per schedule (--set KEY=VALUE, repeatable):
  step       step_epochs (decay every N epochs), gamma (decay factor)
  cosine     min_lr (the LR at the last step)
  one-cycle  pct_start, div_factor, final_div_factor (final LR = peak / div / final_div)
  plateau    plateau_factor, plateau_patience, plateau_threshold, min_lr
  constant   none: it holds the current LR")]
    Schedule {
        #[arg(value_enum)]
        name: ScheduleName,
        /// A setting of the new schedule, e.g. --set min_lr=1e-4.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        settings: Vec<String>,
    },
    /// Set the learning rate from the next step on. A constant schedule stays at
    /// VALUE; step, cosine, one-cycle and plateau go on with their shape rescaled
    /// so that they pass through VALUE now (cosine still ends at its min_lr scaled
    /// alike, one-cycle at its final LR scaled alike). A running warm-up ends.
    Lr {
        /// The new learning rate, > 0 (e.g. 0.01 or 1e-3).
        #[arg(value_name = "VALUE")]
        value: f64,
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

#[derive(Args, Debug)]
#[command(after_help = "\
The card says what the model is (architecture, parameters), what it learnt from (the data \
file, images per split, the seed, config.ron), how well it did (validation and test accuracy \
and macro-F1, recall per emotion, the worst confusions), how faces must be prepared for it \
(a square face crop with about 10% margin, grey, 48x48; probabilities in FER2013 label \
order) and its known limits. Every number comes from the run's files (summary.json, \
metrics.csv, events.jsonl, config.ron); a run that did not finish gets a card from what it \
left, which says so. The command prints the card's path.\n\
Exit codes: 0 written; 2 RUN is not a run directory, has no finished epoch, or a file of it \
is corrupt; 1 anything else.")]
pub struct CardArgs {
    /// The run directory (runs/<id>).
    #[arg(value_name = "RUN")]
    pub run: PathBuf,
}

#[derive(Args, Debug)]
#[command(after_help = "\
The queue is RUNS_DIR/queue.ron, shared by every fer process: `fer queue add` and the \
dashboard's n key add to it, and a session (`fer train` once its own run is done, \
`fer queue run`, `fer study`) takes waiting runs from it in order, each in its own run \
directory. A run interrupted by a crash, Ctrl-C or `fer ctl stop` stays claimed; the next \
`fer queue run` resumes it from its last checkpoint before it starts anything new.\n\n\
Several workers may run the queue at once, one per device (`fer queue run --device cuda:1` \
in each terminal, or `fer queue run --workers cuda:0,cuda:1` in one): each entry is trained \
by one of them only (the worker holds RUN/train.lock while it trains), and the entry of a \
worker that crashed or was stopped is resumed by the next worker that is free.\n\n\
Examples:\n  fer queue add resnet20 --data fer2013.csv --epochs 30\n  \
fer queue add vgg19 --config runs/<id>/config.ron --mixup 0.2\n  \
fer queue list\n  fer queue run --headless\n  fer queue run --workers cuda:0,cuda:1")]
pub struct QueueArgs {
    #[command(subcommand)]
    pub action: QueueAction,
    /// Where run directories and queue.ron are.
    #[arg(long, default_value = "runs", value_name = "DIR", global = true)]
    pub runs_dir: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum QueueAction {
    /// Queue a run: a model and the same settings as `fer train` takes.
    Add(Box<QueueAddArgs>),
    /// List waiting runs (numbered), then started and finished ones.
    List,
    /// Remove the waiting run at position N (as `fer queue list` numbers them).
    Remove {
        #[arg(value_name = "N")]
        position: usize,
    },
    /// Forget waiting and finished entries (runs being trained or resumable stay).
    Clear {
        /// Only this study's entries.
        #[arg(long, value_name = "NAME")]
        study: Option<String>,
    },
    /// Train the queued runs one after another until none is left (with --workers,
    /// one worker per device at once).
    Run {
        #[command(flatten)]
        view: ViewArgs,
        /// Only this study's entries.
        #[arg(long, value_name = "NAME")]
        study: Option<String>,
        /// Train every entry on this device, whatever device it was queued with: cpu,
        /// cuda, cuda:N, wgpu or wgpu:N, as `fer train --device` (default: each
        /// entry's own). Start one such worker per device and they share the queue.
        #[arg(long, value_parser = fer::device::checked_name, conflicts_with = "workers")]
        device: Option<String>,
        /// Run one worker per listed device, in this one command, e.g. cuda:0,cuda:1 or
        /// cpu,cpu: each is a child `fer queue run --device D --headless` (so --headless
        /// is implied), its lines prefixed with [N DEVICE]. Ctrl-C stops every worker,
        /// each saving a checkpoint first; the exit code is non-zero if any worker failed.
        #[arg(
            long,
            value_name = "DEVICES",
            value_delimiter = ',',
            value_parser = fer::device::checked_name
        )]
        workers: Vec<String>,
    },
}

#[derive(Args, Debug)]
pub struct QueueAddArgs {
    /// Architecture (see `fer models`).
    #[arg(value_name = "MODEL")]
    pub model: String,
    /// Start from this config.ron (e.g. another run's); the flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: ConfigOverrides,
}

#[derive(Args, Debug)]
#[command(after_help = "\
A study file (RON) names the study, a base configuration and the runs, each a model with \
its own settings over the base (the same names as `fer train`'s flags, with _ for -):\n\n\
  Study(\n    name: \"depth\",\n    base: (data: \"fer2013.csv\", epochs: 30, schedule: \"one-cycle\"),\n    \
runs: [(model: \"resnet20\"), (model: \"resnet32\"), (model: \"vgg19\", mixup: 0.2)],\n  )\n\n\
The runs go into RUNS_DIR/queue.ron tagged with the study's name and train one after \
another; when all are done, the report (report.md and PNG figures, as `fer report` writes \
them) goes to --out. Running the same study again continues it: finished runs are kept, an \
interrupted one resumes from its checkpoint, and the report is rewritten.")]
pub struct StudyArgs {
    /// The study file, e.g. experiments/seed-study.ron.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Give each run a time budget of M minutes (see `fer train --minutes`).
    #[arg(long, value_name = "M")]
    pub minutes_per_run: Option<f64>,
    /// Train every run on this data instead of the study's.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Where run directories and queue.ron are.
    #[arg(long, default_value = "runs", value_name = "DIR")]
    pub runs_dir: PathBuf,
    /// Where the report goes (default: RUNS_DIR/<study name>-report).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub view: ViewArgs,
}
