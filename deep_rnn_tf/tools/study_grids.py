"""The named grids of `deep-rnn study NAME`, as data: cells, budgets, data sets and the paper's numbers.

A grid is one task, a list of cells (one command-line variant of `deep-rnn train TASK` each) and, per
budget, the preset, the extra flags, the cells it runs, the default number of seeds and how to generate
its data set. `deep_rnn_tf.tools.study` runs a grid; nothing here imports TensorFlow.

The paper's numbers are original.md §9 (README of the original repository): Polygon IoU by depth (%),
UCF-101 top-1 recognition / anticipation (%), KTH 10->20 per-step PSNR / SSIM.

Example:
    >>> grid = GRIDS["polygon-depth"]
    >>> [cell.name for cell in grid.cells_for("tiny")]
    ['box', 'rbm-2', 'convlstm-2']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BUDGETS = ("tiny", "small", "paper")

# -------------------------------------------------------------------------------- the paper (§9)

# Polygon decoder widths of the original (`PolygonNet.__init__`, original.md §1.3), by depth.
_PAPER_POLYGON_FILTERS = {
    2: [64, 8],
    5: [128, 128, 64, 32, 8],
    10: [128] * 5 + [64] * 3 + [32, 8],
    15: [256, 256] + [128] * 4 + [64] * 6 + [32, 32, 8],
}
_PAPER_POLYGON = {  # depth -> (IoU %, decoder parameters in millions)
    "rbm": {2: (59.9, 0.20), 5: (63.1, 1.13), 10: (67.1, 2.68), 15: (70.4, 5.85)},
    "convlstm": {2: (61.4, 0.47), 5: (63.0, 2.94), 10: (59.3, 7.07), 15: (46.7, 15.71)},
}
_PAPER_ACTION = {  # UCF-101 top-1 %: (recognition, anticipation)
    "lstm1": (71.1, 30.6),
    "convlstm15": (68.9, 49.6),
    "rbm1": (65.3, 28.4),
    "rbm15": (79.8, 57.7),
}
_PAPER_KTH_PSNR = {
    "convlstm": [33.8, 30.6, 28.8, 27.6, 26.9, 26.3, 26.0, 25.7, 25.3, 25.0]
    + [24.8, 24.5, 24.2, 23.7, 23.2, 22.7, 22.1, 21.8, 21.7, 21.6],
    "rbm-15": [34.3, 31.8, 30.2, 29.0, 28.2, 27.6, 27.14, 26.7, 26.3, 25.8]
    + [25.5, 25.1, 24.8, 24.5, 24.2, 24.0, 23.8, 23.7, 23.6, 23.5],
}
_PAPER_KTH_SSIM = {
    "convlstm": [0.947, 0.906, 0.871, 0.844, 0.824, 0.807, 0.795, 0.787, 0.773, 0.757]
    + [0.747, 0.738, 0.732, 0.721, 0.708, 0.691, 0.674, 0.663, 0.659, 0.656],
    "rbm-15": [0.951, 0.923, 0.905, 0.885, 0.871, 0.856, 0.843, 0.833, 0.824, 0.814]
    + [0.805, 0.796, 0.790, 0.783, 0.779, 0.775, 0.770, 0.765, 0.761, 0.757],
}
_PAPER_KTH_AVG = {"convlstm": (25.3, 0.765), "rbm-15": (26.5, 0.824)}


def small_polygon_filters(depth: int) -> list[int]:
    """The original's decoder widths for `depth`, a quarter as wide (at least 8): the CPU budget.

    Example:
        >>> small_polygon_filters(5)
        [32, 32, 16, 8, 8]
    """
    return [max(8, width // 4) for width in _PAPER_POLYGON_FILTERS[depth]]


def tiny_polygon_filters(depth: int) -> list[int]:
    """CI-sized decoder widths: 8 channels per layer, 4 on the last (depth 2: the tests' tiny `[8, 4]`).

    Example:
        >>> tiny_polygon_filters(2)
        [8, 4]
    """
    return [8] * (depth - 1) + [4]


# -------------------------------------------------------------------------------- structures


@dataclass(frozen=True)
class StudyCell:
    """One variant of the task, trained and tested once per seed.

    Args:
        name: short id, also the run folder (`<out>/runs/<name>/seed-<s>`).
        label: what the report calls it.
        flags: `deep-rnn train` flags selecting the variant (every budget).
        budget_flags: extra flags per budget (e.g. CPU-sized widths for `small`).
        series: plot series (e.g. "rbm", "convlstm").
        x: position on the plot's x axis (the depth), None when not plotted against depth.
        paper: the paper's numbers for this cell, by metric name.
        derived_from: another cell whose runs also score this one (copy-last-frame is scored by every
            prediction test run), so this cell trains nothing.
    """

    name: str
    label: str
    flags: tuple[str, ...] = ()
    budget_flags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    series: str = ""
    x: float | None = None
    paper: dict[str, Any] = field(default_factory=dict)
    derived_from: str | None = None

    def train_flags(self, budget: str) -> list[str]:
        return [*self.flags, *self.budget_flags.get(budget, ())]


@dataclass(frozen=True)
class DataRecipe:
    """How to make a grid's data set with the project's generators (`deep-rnn data ...`).

    Args:
        commands: `deep-rnn data` command lines (split on spaces); "{data}" is the data folder, "{seed}"
            the data seed.
        ready: path (under the data folder) whose existence means the set is complete.
        flags: `deep-rnn train` flags pointing the task at the set ("{data}" as above).
    """

    commands: tuple[str, ...]
    ready: str
    flags: str


@dataclass(frozen=True)
class Budget:
    """One budget of a grid: preset, extra flags, cells, seeds and data.

    Args:
        preset: `--preset` of every run.
        flags: extra `deep-rnn train` flags of every run (sizes, epochs), one string.
        cells: the cells run at this budget (None: all).
        seeds: default number of seeds.
        data: how to generate the data set, or None to use the preset's own data paths (paper scale).
    """

    preset: str
    flags: str = ""
    cells: tuple[str, ...] | None = None
    seeds: int = 3
    data: DataRecipe | None = None


@dataclass(frozen=True)
class StudyGrid:
    """A named study: one task, its cells, budgets, the metrics of its report and its plot.

    Args:
        name: the `deep-rnn study NAME`.
        task: the task name (`deep-rnn train TASK`).
        description: one line for `--help` and the report.
        cells: every cell, in report order.
        budgets: by budget name (tiny, small, paper).
        metrics: scalar metrics of the table (keys of the extracted results), with their labels.
        plot: "depth" (metric vs depth per series), "bars" (grouped bars) or "per_step" (curves).
    """

    name: str
    task: str
    description: str
    cells: tuple[StudyCell, ...]
    budgets: dict[str, Budget]
    metrics: tuple[tuple[str, str], ...]
    plot: str

    def cells_for(self, budget: str) -> list[StudyCell]:
        """The cells of `budget` in report order (plus the cells they are derived from)."""
        wanted = self.budgets[budget].cells
        if wanted is None:
            return list(self.cells)
        names = set(wanted)
        names |= {c.derived_from for c in self.cells if c.name in names and c.derived_from}
        return [cell for cell in self.cells if cell.name in names]

    def cell(self, name: str) -> StudyCell:
        return next(cell for cell in self.cells if cell.name == name)


# -------------------------------------------------------------------------------- polygon-depth

_POLYGON_DATA_SMALL = DataRecipe(
    commands=(
        "synth-cityscapes --out {data}/cityscapes --train 150 --val 24 --seed {seed}",
        "polygon-crops --root {data}/cityscapes --out {data}/crops --copies 2 --max-vertices 12 "
        "--seed {seed}",
    ),
    ready="crops/val/manifest.json",
    flags="--crops {data}/crops",
)
_POLYGON_DATA_TINY = DataRecipe(
    commands=(
        "synth-cityscapes --out {data}/cityscapes --train 4 --val 1 --width 256 --height 128 --seed {seed}",
        "polygon-crops --root {data}/cityscapes --out {data}/crops --max-vertices 12 --seed {seed}",
    ),
    ready="crops/val/manifest.json",
    flags="--crops {data}/crops",
)


def _polygon_cell(rnn: str, depth: int) -> StudyCell:
    iou, params = _PAPER_POLYGON[rnn][depth]
    filters = tuple(str(w) for w in small_polygon_filters(depth))
    tiny_filters = tuple(str(w) for w in tiny_polygon_filters(depth))
    # The RBM cells' gates start at sigmoid(2) = 0.88 instead of 1/2: with gates at 1/2 every layer halves
    # the signal, and at 160 steps the 5-layer decoder stayed near zero IoU (docs/log/study.md, "gate bias").
    # The ConvLSTM cells keep Keras' own start (forget-gate bias 1).
    gate = ("--gate-bias", "2") if rnn == "rbm" else ()
    return StudyCell(
        name=f"{rnn}-{depth}",
        label=f"{depth}-layer {'RBM' if rnn == 'rbm' else 'ConvLSTM'}",
        flags=("--rnn", rnn, "--depth", str(depth)),
        budget_flags={"small": ("--filters", *filters, *gate), "tiny": ("--filters", *tiny_filters)},
        series=rnn,
        x=depth,
        paper={"iou": iou, "decoder_params_m": params},
    )


POLYGON_DEPTH = StudyGrid(
    name="polygon-depth",
    task="polygon",
    description="Polygon-RNN decoder: RBM vs ConvLSTM at depths 2, 5, 10, 15 (IoU vs depth, §9)",
    cells=(
        # The trivial baseline: the crop's bounding box as the polygon, scored by every polygon test.
        StudyCell(name="box", label="bounding box (baseline)", series="box", derived_from="rbm-2"),
        *(_polygon_cell(rnn, d) for rnn in ("rbm", "convlstm") for d in (2, 5, 10, 15)),
    ),
    budgets={
        # The `small` preset shrunk by flags to CI size (the tests' tiny config; no `tiny` preset exists).
        "tiny": Budget(
            preset="small",
            flags="--epochs 1 --steps-per-epoch 2 --batch-size 4 --overlays 0",
            cells=("box", "rbm-2", "convlstm-2"),
            seeds=1,
            data=_POLYGON_DATA_TINY,
        ),
        # 4 epochs x 40 steps (the preset's epochs are 173 steps): the 24 runs must fit about an hour on
        # 2 CPU cores, where one step costs 0.25 s (2-layer RBM) to 2.7 s (15-layer ConvLSTM); the full
        # preset would take about 4.5 hours. Validation (a tenth of the training images) picks the epoch.
        # Residual jumps every 5 layers for both cells (the original polygon stack has none): at this
        # budget a plain 10-layer RBM decoder scored 6 IoU (validation loss 5.24 after 160 steps, 4.40 with
        # jumps); depth 2 has no complete block, so its decoder is the original's.
        "small": Budget(
            preset="small", flags="--epochs 4 --steps-per-epoch 40 --jump 5", data=_POLYGON_DATA_SMALL
        ),
        "paper": Budget(preset="paper"),
    },
    metrics=(("iou", "class-mean IoU %"), ("instance_iou", "instance-mean IoU %")),
    plot="depth",
)

# -------------------------------------------------------------------------------- action-table

_ACTION_DATA_SMALL = DataRecipe(
    # 32 test videos per class (320), not the generator's 8: with 80 one video moved top-1 by 1.25 points,
    # the size of the gaps between the deep stacks (docs/log/study.md, "The action table on a 4× larger test
    # split"). 128 training videos per class, not 32: at 32 the deep stacks' seeds scattered over 30-80 %
    # (one late or never leaving chance); at 128, data seed 1, every stack but the LSTM trained on every
    # seed (data seed 2: one 15-layer ConvLSTM seed of three stayed at chance). A weak
    # scene cue (0.15): the motion-only classes' first 2 frames hold one displacement, so anticipation sat
    # near chance for every model; with the cue a first frame tells the class some of the time and the
    # motion is still needed (docs/log/study.md, "Anticipation with a weaker scene cue" and "The four cells
    # without the hinge on the 4x set").
    commands=(
        "synth-actions --out {data}/synth_actions --size 32 --videos-per-class 128 "
        "--test-videos-per-class 32 --scene-cue 0.15 --seed {seed}",
    ),
    ready="synth_actions/test",
    flags="--data {data}/synth_actions",
)
_ACTION_DATA_TINY = DataRecipe(
    commands=(
        "synth-actions --out {data}/synth_actions --size 32 --videos-per-class 2 --test-videos-per-class 1 "
        "--min-frames 12 --max-frames 16 --seed {seed}",
    ),
    ready="synth_actions/test",
    flags="--data {data}/synth_actions",
)


def _action_cell(rnn: str, label: str, depth: int | None = None) -> StudyCell:
    """One `--rnn` stack of the action table; `depth` places the RBM stacks on the depth axis.

    A depth other than the stack's own (1 or 15) is the 15-layer RBM stack cut to `depth` layers (same
    widths, jumps and pooling per block), cell `rbm<depth>`: not one of the paper's four rows, so not in a
    budget's default cells; `--cells rbm5,rbm10` adds that depth sweep to the table.
    """
    own_depth = depth is None or rnn == f"rbm{depth}"  # not on the depth axis, or the stack as named
    name = rnn if own_depth else f"rbm{depth}"
    paper = _PAPER_ACTION.get(name)
    return StudyCell(
        name=name,
        label=label,
        flags=("--rnn", rnn) if own_depth else ("--rnn", rnn, "--depth", str(depth)),
        series="rbm" if rnn.startswith("rbm") else rnn,
        x=depth,
        paper={"top1": paper[0], "anticipation_top1": paper[1]} if paper else {},
    )


_ACTION_PAPER_ROWS = ("lstm1", "convlstm15", "rbm1", "rbm15")

ACTION_TABLE = StudyGrid(
    name="action-table",
    task="action",
    description="Action recognition and anticipation: 1-layer LSTM, 15-layer ConvLSTM, 1- and 15-layer RBM",
    cells=(
        _action_cell("lstm1", "1-layer LSTM"),
        _action_cell("convlstm15", "15-layer ConvLSTM"),
        _action_cell("rbm1", "1-layer RBM", depth=1),
        _action_cell("rbm15", "5-layer RBM", depth=5),
        _action_cell("rbm15", "10-layer RBM", depth=10),
        _action_cell("rbm15", "15-layer RBM", depth=15),
    ),
    budgets={
        "tiny": Budget(
            preset="small",
            flags=(
                "--epochs 1 --steps-per-epoch 2 --batch-size 4 --width 8 --hidden 16 --num-clips 2 "
                "--clip-len 4 --test-frames 8 --depth 5"
            ),
            cells=("lstm1", "rbm15"),
            seeds=1,
            data=_ACTION_DATA_TINY,
        ),
        # 120 epochs of 36 steps (4,320 steps, the preset's 30 epochs were 1,080 on the 32-video set): at
        # 30 epochs 10 of 12 runs were still improving at their last epoch; validation picks the epoch.
        # About 70 min for the 12 runs with --jobs 2 on 2 cores (docs/study.md).
        "small": Budget(
            preset="small",
            flags="--epochs 120 --steps-per-epoch 36",
            cells=_ACTION_PAPER_ROWS,
            data=_ACTION_DATA_SMALL,
        ),
        "paper": Budget(preset="paper", cells=_ACTION_PAPER_ROWS),
    },
    metrics=(
        ("top1", "recognition top-1 %"),
        ("anticipation_top1", "anticipation top-1 % (first 2 frames)"),
        ("top5", "top-5 %"),
        ("mean_class_accuracy", "mean class accuracy %"),
    ),
    plot="bars",
)

# -------------------------------------------------------------------------------- prediction-cores

_KTH_DATA_SMALL = DataRecipe(
    commands=("synth-kth --out {data}/kth_synth --seed {seed}",),
    ready="kth_synth/test_data_list.txt",
    flags="--data-dir {data}/kth_synth",
)
_KTH_DATA_TINY = DataRecipe(
    commands=(
        "synth-kth --out {data}/kth_synth --train-persons 1 --test-persons 1 --frames 30 --seed {seed}",
    ),
    ready="kth_synth/test_data_list.txt",
    flags="--data-dir {data}/kth_synth",
)


def _kth_paper(key: str) -> dict[str, Any]:
    psnr, ssim = _PAPER_KTH_AVG[key]
    per_step = {"psnr_per_step": _PAPER_KTH_PSNR[key], "ssim_per_step": _PAPER_KTH_SSIM[key]}
    return {"psnr": psnr, "ssim": ssim, **per_step}


def _rbm_core(depth: int) -> StudyCell:
    return StudyCell(
        name=f"rbm-{depth}",
        label=f"{depth}-layer RBM core",
        flags=("--rnn", "rbm", "--rnn-depth", str(depth)),
        series="rbm",
        x=depth,
        paper=_kth_paper("rbm-15") if depth == 15 else {},
    )


PREDICTION_CORES = StudyGrid(
    name="prediction-cores",
    task="prediction",
    description="KTH future prediction: copy-last, ConvLSTM core, RBM cores at 1, 3, 8, 15 layers (§9)",
    cells=(
        StudyCell(name="copy-last", label="copy last frame", series="copy", derived_from="convlstm"),
        StudyCell(
            name="convlstm",
            label="ConvLSTM core (1 layer)",
            flags=("--rnn", "convlstm"),
            series="convlstm",
            paper=_kth_paper("convlstm"),
        ),
        *(_rbm_core(depth) for depth in (1, 3, 8, 15)),
    ),
    budgets={
        # The `small` preset shrunk by flags to CI size (the tests' tiny config; no `tiny` preset exists).
        "tiny": Budget(
            preset="small",
            flags=(
                "--epochs 1 --steps-per-epoch 2 --batch-size 2 --image-size 16 --past 3 --future 2 "
                "--test-future 3 --gf-dim 4 --rnn-depth 2 --rnn-filters 8 --max-test-windows 8 --gifs 1 "
                "--warmup-steps 1"
            ),
            cells=("copy-last", "convlstm", "rbm-1"),
            seeds=1,
            data=_KTH_DATA_TINY,
        ),
        # Half the small preset's 1000 steps: 15 runs (5 cores x 3 seeds, the 15-layer core tracing for
        # minutes) must fit about an hour on 2 CPU cores.
        "small": Budget(preset="small", flags="--epochs 5", data=_KTH_DATA_SMALL),
        "paper": Budget(preset="paper"),
    },
    metrics=(("psnr", "PSNR dB (mean over steps)"), ("ssim", "SSIM (mean over steps)")),
    plot="per_step",
)

GRIDS: dict[str, StudyGrid] = {grid.name: grid for grid in (POLYGON_DEPTH, ACTION_TABLE, PREDICTION_CORES)}
