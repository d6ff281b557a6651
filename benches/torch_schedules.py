"""Prints the expected learning rates used by tests/schedule_pytorch.rs.

Run:  /tmp/torchenv/bin/python benches/torch_schedules.py
Each list is the LR of optimizer step 0, 1, 2, ... (the value `optimizer.param_groups[0]["lr"]`
holds when that step runs), produced by real torch.optim.lr_scheduler classes.
"""
import torch
from torch.optim.lr_scheduler import (
    ChainedScheduler,
    CosineAnnealingLR,
    LinearLR,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)


def optimizer(lr):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def per_step(opt, sched, steps):
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def step_lr(base, gamma, step_epochs, steps_per_epoch, epochs):
    """StepLR stepped once per epoch, as its step_size in epochs intends."""
    opt = optimizer(base)
    sched = StepLR(opt, step_size=step_epochs, gamma=gamma)
    lrs = []
    for _ in range(epochs):
        for _ in range(steps_per_epoch):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
        sched.step()
    return lrs


def cosine(base, eta_min, total):
    opt = optimizer(base)
    # total + 1 values: the last one is step `total`, where eta_min is reached.
    return per_step(opt, CosineAnnealingLR(opt, T_max=total, eta_min=eta_min), total + 1)


def one_cycle(max_lr, pct_start, total):
    opt = optimizer(max_lr)
    sched = OneCycleLR(
        opt, max_lr=max_lr, total_steps=total, pct_start=pct_start,
        anneal_strategy="cos", three_phase=False, div_factor=25.0,
        final_div_factor=1e4, cycle_momentum=False,
    )
    return per_step(opt, sched, total)


def plateau(base, factor, patience, threshold, accuracies):
    """LR after each end-of-epoch step(metric)."""
    opt = optimizer(base)
    sched = ReduceLROnPlateau(opt, mode="max", factor=factor, patience=patience,
                              threshold=threshold, threshold_mode="rel")
    lrs = []
    for accuracy in accuracies:
        sched.step(accuracy)
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


def warmup_cosine(base, start_factor, warmup_steps, total):
    opt = optimizer(base)
    sched = ChainedScheduler([
        LinearLR(opt, start_factor=start_factor, end_factor=1.0, total_iters=warmup_steps),
        CosineAnnealingLR(opt, T_max=total, eta_min=0.0),
    ])
    return per_step(opt, sched, total + 1)


def warmup_constant(base, start_factor, warmup_steps, steps):
    opt = optimizer(base)
    sched = LinearLR(opt, start_factor=start_factor, end_factor=1.0, total_iters=warmup_steps)
    return per_step(opt, sched, steps)


PLATEAU_ACCURACIES = [0.50, 0.55, 0.55, 0.5500001, 0.54, 0.56, 0.5601, 0.50, 0.50, 0.50, 0.49, 0.49]

CASES = {
    "STEP_G01_EVERY2_SPE5_E8": step_lr(0.1, 0.1, 2, 5, 8),
    "COSINE_MIN0_T50": cosine(0.1, 0.0, 50),
    "COSINE_MIN1E3_T50": cosine(0.1, 1e-3, 50),
    "ONE_CYCLE_PCT015_T100": one_cycle(0.1, 0.15, 100),
    "ONE_CYCLE_PCT03_T100": one_cycle(0.1, 0.3, 100),
    "PLATEAU_F05_P2": plateau(0.1, 0.5, 2, 1e-4, PLATEAU_ACCURACIES),
    "WARMUP01_W10_COSINE_T50": warmup_cosine(0.1, 0.1, 10, 50),
    "WARMUP01_W7_CONSTANT_20": warmup_constant(0.05, 0.1, 7, 20),
}

print(f"// torch {torch.__version__}")
print(f"const PLATEAU_ACCURACIES: [f64; {len(PLATEAU_ACCURACIES)}] = {PLATEAU_ACCURACIES!r};")
for name, values in CASES.items():
    body = ", ".join(repr(float(v)) for v in values)
    print(f"const {name}: [f64; {len(values)}] = [{body}];")
