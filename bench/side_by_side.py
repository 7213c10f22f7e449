"""What the side-by-side benchmarks (bench/upstream_dsa_bench.py, bench/upstream_trtllm_mha_bench.py,
bench/upstream_fa3_bench.py) share: upstream's Triton kernel and draftjit's drop-in timed alike, so that one family's
figures read as the other's.

A script brings its kernel family: the point's shapes and inputs, a Point (twins .theirs and .mine, each with
poison(); load(draw), check(), calls(): upstream's call, draftjit's call), the bytes a call writes, its grid's
defaults and modes. From here: the flags all take, the grid walked smallest bs first within --time-limit and
--mem-gib, per point the check and the times (Timer, eager and per graph node, with the copy floor), the run's
empty-kernel floor, the cold first calls in fresh subprocesses, and the report (markdown tables, the lists, --json).

The paged families (TRTLLM-MHA, FA3) share more: the live lengths, the requests' table and the SWA mapping every
width of a bs reads (shared_inputs), twins of named outputs poisoned alike (Twin), a Point base that calls both
functions by keyword on its twins and compares them (TwinPoint; PagedPoint with the requests' pool indices), the
group's walk over widths (Group.measure_widths), the cold child's point and the run itself (run_paged). A family's
modes without a paged table (FA3's spec and splits) build their own inputs (UnpagedPoint, Group.measure_unpaged) and
report page size None.

torch and triton are imported where first needed, so that --help runs without them."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPEAT_SECONDS = 0.01     # GPU time one repeat aims at, so long calls take few repeats of few calls
GRAPH_NODES = 20          # calls captured in one graph for the "graph" figures
POINT_KEYS = ("mode", "bs", "width", "live", "page_size")  # a point's spec, as --cold-child and the report name it
POISON32 = 0x7F7F7F7F
POISON64 = 0x7F7F7F7F7F7F7F7F
SLOTS = 1 << 22           # KV slots: req_to_token's tokens and the SWA mapping's length (+ P + 1, as upstream sizes it)


class Timer:
    """GPU time per call of fn by CUDA events, as the median over repeats of `calls` back-to-back calls (fewer where
    one call is long)."""

    def __init__(self, calls, repeats):
        import torch
        self.torch, self.calls, self.repeats = torch, calls, repeats

    def __call__(self, fn):
        torch = self.torch
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        fn()
        start.record()
        fn()
        end.record()
        end.synchronize()
        one = start.elapsed_time(end) / 1e3
        n = max(3, min(self.calls, int(REPEAT_SECONDS / max(one, 1e-7))))
        times = []
        for _ in range(self.repeats):
            start.record()
            for _ in range(n):
                fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) * 1e3 / n)
        return statistics.median(times), n

    def graph(self, fn):
        """The same per call for GRAPH_NODES calls captured in one CUDA graph (one node each, as the step's metadata
        is one node of a decode step's graph) and replayed: the graph's own launch is spread over its nodes, so what
        is left is each node's GPU time and its gap to the next."""
        torch = self.torch
        fn()
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for _ in range(GRAPH_NODES):
                fn()
        per_replay, n = self(graph.replay)
        del graph
        return per_replay / GRAPH_NODES, n


def empty_kernel_times(timer):
    import torch
    import triton

    @triton.jit
    def _empty(x):
        pass

    buffer = torch.zeros(1, device="cuda")
    launch = lambda: _empty[(1,)](buffer)  # noqa: E731
    return {"eager_us": timer(launch)[0], "graph_us": timer.graph(launch)[0]}


def point_row(spec):
    return dict(zip(POINT_KEYS, spec))


def point_spec(text):
    mode, bs, width, live, page_size = text.split(",")
    return mode, int(bs), int(width), live, int(page_size)


def write_poisoned(point):
    """Both twins of a point poisoned, then written by their own call: what a call leaves unwritten still holds the
    poison when the twins are compared."""
    import torch
    point.theirs.poison()
    point.mine.poison()
    for call in point.calls():
        call()
    torch.cuda.synchronize()


def times(timer, theirs, mine, copy):
    """A point's report figures for upstream's call, draftjit's and the copy floor."""
    row = {}
    row["upstream_us"], n_theirs = timer(theirs)
    row["draftjit_us"], n_mine = timer(mine)
    row["graph_upstream_us"], _ = timer.graph(theirs)
    row["graph_draftjit_us"], _ = timer.graph(mine)
    row["copy_us"], _ = timer(copy)
    row["copy_graph_us"], _ = timer.graph(copy)
    row["ratio"] = row["draftjit_us"] / row["upstream_us"]
    row["graph_ratio"] = row["graph_draftjit_us"] / row["graph_upstream_us"]
    row["calls"] = {"upstream": n_theirs, "draftjit": n_mine}
    return row


def live_lengths(bs, width, live, seed):
    """A paged point's int32 live lengths (CPU): "short" uniform in [2, min(3000, width - 2)], "long" in
    [width / 2, width - 2], "mixed" short but for request 0, long (one long-context request among short ones)."""
    import torch
    if live == "mixed":
        lengths = live_lengths(bs, width, "short", seed)
        lengths[:min(bs, 1)] = live_lengths(min(bs, 1), width, "long", seed)
        return lengths
    if live not in ("short", "long"):
        raise ValueError(f"--lives: {live!r} is not short, long or mixed")
    gen = torch.Generator().manual_seed(seed)
    high = max(width - 2, 2)
    low = 2 if live == "short" else max(width // 2, 2)
    high = min(3000, high) if live == "short" else high
    return torch.randint(low, high + 1, (bs,), generator=gen, dtype=torch.int64).to(torch.int32)


def live_pages(seq, width, page_size):
    """Pages a paged call writes in one page table: each row's min(cdiv(L, P), width / P)."""
    import torch
    return int(torch.clamp((seq.to(torch.int64) + page_size - 1) // page_size, 0, width // page_size).sum())


def shared_inputs(bs, stride_width, page_size, seed):
    """req_to_token for a bs (bs + 3 rows of stride_width columns, tokens in [0, SLOTS)) and the SWA mapping the
    tokens index (SLOTS + P + 1 int64 entries in [0, SLOTS / 2), 1% of them -1), which every width of the bs reads."""
    import torch
    gen = torch.Generator(device="cuda").manual_seed(seed)
    r2t = torch.randint(0, SLOTS, (bs + 3, stride_width), generator=gen, dtype=torch.int32, device="cuda")
    mapping = torch.randint(0, SLOTS // 2, (SLOTS + page_size + 1,), generator=gen, device="cuda")
    mapping[torch.rand(mapping.shape, generator=gen, device="cuda") < 0.01] = -1
    return r2t, mapping


class Twin:
    """One implementation's outputs for a point: shapes maps each output's name to (shape, bytes per entry: 4 for
    int32, 8 for int64); each is poisoned (POISON32 or POISON64) until a call writes it."""

    def __init__(self, shapes):
        import torch
        dtypes = {4: torch.int32, 8: torch.int64}
        self.outputs = {name: torch.empty(shape, dtype=dtypes[size], device="cuda")
                        for name, (shape, size) in shapes.items()}
        self.poison()

    @staticmethod
    def bytes(shapes):
        """One twin's bytes, from the same shapes."""
        total = 0
        for shape, size in shapes.values():
            cells = size
            for extent in shape:
                cells *= extent
            total += cells
        return total

    def poison(self):
        for tensor in self.outputs.values():
            tensor.fill_(POISON64 if tensor.element_size() == 8 else POISON32)


class TwinPoint:
    """A point of twin outputs: live lengths loaded into self.seq (int32, as SGLang's graph runner holds them), twins
    of the given output shapes, and upstream's and draftjit's functions, each called on its twin through
    bind(function, arguments(twin)) (by keyword, unless a subclass binds otherwise). A subclass sets `function` (the
    functions' name, in upstream's module and draftjit.sglang alike, from the mode) and defines arguments(twin)."""

    def __init__(self, mode, bs, width, upstream, ours, seed, shapes):
        import torch
        self.gen = torch.Generator().manual_seed(seed)
        self.mode, self.bs, self.width = mode, bs, width
        self.seq = torch.zeros(bs, dtype=torch.int32, device="cuda")
        self.theirs, self.mine = Twin(shapes), Twin(shapes)
        name = self.function(mode)
        self.functions = (getattr(upstream, name), getattr(ours, name))

    def load(self, seq):
        self.seq.copy_(seq)

    @staticmethod
    def bind(function, arguments):
        """One implementation's call: function(**arguments)."""
        return lambda: function(**arguments)

    def calls(self):
        """(upstream's call, draftjit's call), each on its twin."""
        twins = (self.theirs, self.mine)
        return [self.bind(function, self.arguments(twin)) for function, twin in zip(self.functions, twins)]

    def check(self):
        import torch
        write_poisoned(self)
        for name, theirs in self.theirs.outputs.items():
            mine = self.mine.outputs[name]
            if not torch.equal(mine, theirs):
                where = (mine != theirs).nonzero()[0].tolist()
                return (f"MISMATCH {name}{where}: draftjit {mine[tuple(where)].item()}, "
                        f"upstream {theirs[tuple(where)].item()}")
        return "ok"


class PagedPoint(TwinPoint):
    """A paged family's point: a TwinPoint with req_pool_indices (int32, distinct rows of req_to_token) and twins of
    the family's output_shapes(mode, bs, pages). A subclass sets `function`, defines output_shapes,
    written_bytes(mode, seq, width, page_size) and arguments(twin), and draws what else it needs from self.gen after
    this constructor."""

    def __init__(self, mode, bs, width, page_size, upstream, ours, seed, rows):
        import torch
        pages = width // page_size
        super().__init__(mode, bs, width, upstream, ours, seed, self.output_shapes(mode, bs, pages))
        self.page_size, self.pages = page_size, pages
        self.pool = torch.randperm(rows, generator=self.gen)[:bs].to(torch.int32).cuda()


class UnpagedPoint(TwinPoint):
    """A point of a mode without a paged table (Group.measure_unpaged; page size None in the report), which builds its
    own inputs: (mode, bs, width, options, upstream, ours, seed). A subclass sets `function`, defines
    widths(options) (the group's widths), output_shapes(bs, width, options), input_bytes(bs, width, options),
    written_bytes(seq) (the bytes a call writes at live lengths seq) and arguments(twin)."""

    def __init__(self, mode, bs, width, options, upstream, ours, seed):
        super().__init__(mode, bs, width, upstream, ours, seed, self.output_shapes(bs, width, options))

    @classmethod
    def buffer_bytes(cls, bs, width, options):
        """The point's inputs, its two twins and the copy floor's two buffers (each at most a twin's bytes)."""
        return cls.input_bytes(bs, width, options) + 4 * Twin.bytes(cls.output_shapes(bs, width, options))


class Group:
    """One (mode, page size, bs) of the grid, whose script builds a Point per width: widths whose buffers exceed
    --mem-gib are listed as skipped, the others' points measured into the report."""

    def __init__(self, mode, page_size, bs, options, timer, report):
        self.mode, self.page_size, self.bs = mode, page_size, bs
        self.options, self.timer, self.report = options, timer, report

    def spec(self, width, live):
        return self.mode, self.bs, width, live, self.page_size

    def fits(self, width, need):
        """Whether a width's `need` bytes of buffers fit --mem-gib; where not, its points are listed as skipped."""
        if need <= self.options.mem_gib * 2**30:
            return True
        why = f"{need / 2**30:.1f} GiB > {self.options.mem_gib}"
        self.report["skipped"] += [dict(point_row(self.spec(width, live)), why=why) for live in self.options.lives]
        return False

    def measure(self, width, point, draws, written):
        """Per live draw (draws and written, the bytes its call writes, keyed by live): both implementations' outputs
        compared, then both timed beside a device-to-device copy of those bytes, the floor of a call that writes
        them."""
        import torch
        source = torch.empty(max(max(written.values()) // 4, 1), dtype=torch.int32, device="cuda")
        target = torch.empty_like(source)
        for live, draw in draws.items():
            point.load(draw)
            check = point.check()
            n = written[live] // 4
            copy = lambda n=n: target[:n].copy_(source[:n])  # noqa: E731
            row = dict(point_row(self.spec(width, live)), written_bytes=written[live], check=check)
            row.update(times(self.timer, *point.calls(), copy))
            self.report["points"].append(row)
            print(f"  {self.mode} bs {self.bs} width {width} {live} P {cell(self.page_size)}: {check.split(' ')[0]}",
                  file=sys.stderr)

    def draws(self, width):
        """The live lengths of each of --lives at a width (CPU, int32), one seed per bs and width."""
        return {live: live_lengths(self.bs, width, live, seed=self.bs * 7919 + width) for live in self.options.lives}

    def measure_widths(self, widths, point_class, upstream, ours):
        """A paged family's group: per width, the live draws and the bytes each call writes; where the buffers fit,
        a point_class point (mode, bs, width, page size, req_to_token, mapping, upstream, ours, seed) on the
        shared_inputs of the widest width's stride, measured (a server's req_to_token has its context length
        whatever the graph's table width: one stride for all widths of a bs)."""
        import torch
        bs, page_size = self.bs, self.page_size
        stride_width = max(widths)
        inputs = None
        for width in widths:
            draws = self.draws(width)
            written = {live: point_class.written_bytes(self.mode, seq, width, page_size) for live, seq in draws.items()}
            outputs = Twin.bytes(point_class.output_shapes(self.mode, bs, width // page_size))
            need = 4 * (bs + 3) * stride_width + 8 * SLOTS + 2 * outputs + 2 * max(written.values())
            if not self.fits(width, need):
                continue
            if inputs is None:
                inputs = shared_inputs(bs, stride_width, page_size, seed=bs)
            point = point_class(self.mode, bs, width, page_size, *inputs, upstream, ours, seed=bs + width)
            self.measure(width, point, draws, written)
            del point
        del inputs
        torch.cuda.empty_cache()

    def measure_unpaged(self, point_class, upstream, ours):
        """A group of an UnpagedPoint's mode: per width of point_class.widths(options) whose buffers fit, the point,
        measured at the live draws and the bytes its calls write at each."""
        import torch
        for width in point_class.widths(self.options):
            if not self.fits(width, point_class.buffer_bytes(self.bs, width, self.options)):
                continue
            point = point_class(self.mode, self.bs, width, self.options, upstream, ours, seed=self.bs + width)
            draws = self.draws(width)
            self.measure(width, point, draws, {live: point.written_bytes(seq) for live, seq in draws.items()})
            del point
        torch.cuda.empty_cache()


def measure_grid(options, timer, report, measure_group, in_grid=None, unpaged=()):
    """measure_group(group, widths) for each (bs, mode, page size) of the options (where in_grid(mode, page_size,
    bs), if given, says it is part of the grid; the modes in unpaged once per bs, at page size None), until
    --time-limit: the groups after it are listed as not reached."""
    started = time.monotonic()
    for bs in sorted(options.bs):  # smallest first: past the time limit, the largest batches go unmeasured
        for mode in options.modes:
            for page_size in (None,) if mode in unpaged else options.page_sizes:
                if in_grid is not None and not in_grid(mode, page_size, bs):
                    continue
                if time.monotonic() - started > options.time_limit:
                    report["not_reached"].append({"mode": mode, "page_size": page_size, "bs": bs})
                    continue
                measure_group(Group(mode, page_size, bs, options, timer, report), sorted(options.widths))


def print_first_calls(spec, calls):
    """A cold child's result line: the wall time of each implementation's first call, then its second."""
    import torch
    torch.cuda.synchronize()  # CUDA's context and the buffers are ready before the clock starts
    result = point_row(spec)
    for name, call in zip(("upstream", "draftjit"), calls):
        for which in ("first", "second"):
            start = time.perf_counter()
            call()
            torch.cuda.synchronize()
            result[f"{name}_{which}_ms"] = (time.perf_counter() - start) * 1e3
    print(json.dumps(result))


def cold_runs(script, points, options):
    """Each point's --cold-child of `script` in a fresh process with empty Triton and draftjit caches, so that the
    first call compiles (none under --no-cold, the first point alone under --quick)."""
    if options.no_cold:
        return []
    results = []
    for spec in points[:1] if options.quick else points:
        with tempfile.TemporaryDirectory() as triton_cache, tempfile.TemporaryDirectory() as draftjit_cache:
            env = dict(os.environ, TRITON_CACHE_DIR=triton_cache, DRAFTJIT_CACHE_DIR=draftjit_cache)
            done = subprocess.run([sys.executable, script, "--cold-child", ",".join(str(v) for v in spec)], env=env,
                                  capture_output=True, text=True)
        if done.returncode != 0:
            results.append({"point": list(spec), "error": (done.stderr or done.stdout)[-2000:]})
        else:
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


def paged_cold_child(spec, point_class, upstream, ours):
    """A paged family's --cold-child: the point on its own inputs (req_to_token of the point's width), first calls
    timed."""
    mode, bs, width, live, page_size = spec
    r2t, mapping = shared_inputs(bs, width, page_size, seed=1)
    point = point_class(mode, bs, width, page_size, r2t, mapping, upstream, ours, seed=2)
    point.load(live_lengths(bs, width, live, seed=3).cuda())
    print_first_calls(spec, point.calls())


def load_upstream(loader, script):
    """(upstream's module, draftjit.sglang) where `loader` (python/tests/upstream_*.py) finds upstream's file, its
    imports and a GPU; else the script exits naming what is missing."""
    why = loader.missing()
    if why:
        sys.exit(f"{script}: {why}")
    from draftjit import sglang as ours
    return loader.load(), ours


def run_paged(script, options, loader, point_class, modes, cold_points, in_grid=None, unpaged=None, header=None):
    """A paged family's whole run: --cold-child's point alone, else the grid (Group.measure_widths of point_class
    per group, Group.measure_unpaged of unpaged[mode], an UnpagedPoint class, for the family's modes without a paged
    table), the cold first calls and the report (with the script's header keys); the exit status."""
    unpaged = unpaged or {}
    name = os.path.splitext(os.path.basename(script))[0]
    upstream, ours = load_upstream(loader, name)  # before importing torch: says what is missing
    if options.cold_child:
        return paged_cold_child(point_spec(options.cold_child), point_class, upstream, ours)
    timer = Timer(options.calls, options.repeats)
    report = new_report(options, timer, loader.path(), **(header or {}))

    def measure_group(group, widths):
        if group.mode in unpaged:
            group.measure_unpaged(unpaged[group.mode], upstream, ours)
        else:
            group.measure_widths(widths, point_class, upstream, ours)

    measure_grid(options, timer, report, measure_group, in_grid, unpaged)
    report["points"].sort(key=lambda r: (modes.index(r["mode"]), r["page_size"], r["bs"], r["width"], r["live"]))
    report["cold"] = cold_runs(os.path.abspath(script), cold_points, options)
    print(f"{report['device']}, torch {report['torch']}, triton {report['triton']}; upstream {report['upstream']}")
    return summarize(report, options, modes)


def new_report(options, timer, upstream, **header):
    """The report's versions, upstream's source, the run's counts and the script's own header keys, the run's
    empty-kernel floor and the lists still to fill."""
    import torch
    import triton
    return {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "triton": triton.__version__,
            "upstream": upstream, "calls": options.calls, "repeats": options.repeats, **header,
            "empty_kernel": empty_kernel_times(timer), "points": [], "skipped": [], "not_reached": [], "cold": []}


def run_points(script, options, modes, cold_points, upstream_path, measure_group):
    """A script's run after its setup: the grid measured (measure_group(group, widths)), the points sorted, the cold
    first calls of `script`, the report printed and written; the exit status."""
    timer = Timer(options.calls, options.repeats)
    report = new_report(options, timer, upstream_path)
    measure_grid(options, timer, report, measure_group)
    report["points"].sort(key=lambda r: (modes.index(r["mode"]), r["page_size"], r["bs"], r["width"], r["live"]))
    report["cold"] = cold_runs(script, cold_points, options)
    print(f"{report['device']}, torch {report['torch']}, triton {report['triton']}; upstream {report['upstream']}")
    return summarize(report, options, modes)


def cell(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def print_tables(report, modes):
    columns = ("mode", "bs", "width", "live", "P", "upstream us", "draftjit us", "ratio draftjit/upstream",
               "graph upstream", "graph draftjit", "graph ratio", "empty kernel", "copy floor", "check")
    empty = report["empty_kernel"]
    for mode in modes:
        rows = [r for r in report["points"] if r["mode"] == mode]
        if not rows:
            continue
        print(f"\n### {mode}\n")
        print("| " + " | ".join(columns) + " |")
        print("|" + "---|" * len(columns))
        for r in rows:
            values = (r["mode"], r["bs"], r["width"], r["live"], cell(r["page_size"]), cell(r["upstream_us"]),
                      cell(r["draftjit_us"]), cell(r["ratio"], 2), cell(r["graph_upstream_us"]),
                      cell(r["graph_draftjit_us"]), cell(r["graph_ratio"], 2),
                      f"{empty['eager_us']:.1f} / {empty['graph_us']:.1f}", cell(r["copy_graph_us"]), r["check"])
            print("| " + " | ".join(str(v) for v in values) + " |")


def summarize(report, options, modes):
    """After the script's first line: the floors, a table per mode, the lists and --json; the exit status, 1 where a
    point's outputs differ."""
    print(f"empty Triton kernel: {report['empty_kernel']['eager_us']:.2f} us back to back, "
          f"{report['empty_kernel']['graph_us']:.2f} us per graph node; {options.calls} calls x {options.repeats}")
    print_tables(report, modes)
    for key in ("skipped", "not_reached", "cold"):
        if report[key]:
            print(f"\n{key}:")
            for entry in report[key]:
                print(f"  {json.dumps(entry)}")
    if options.json:
        with open(options.json, "w") as out:
            json.dump(report, out, indent=1)
    bad = [r for r in report["points"] if r["check"] != "ok"]
    return 1 if bad else 0


def grid_parser(description, modes, widths, page_sizes, widths_help=None):
    """A parser with the flags both scripts take before their own: the counts and the grid, at the family's
    defaults."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--calls", type=int, default=200, help="back-to-back calls per repeat, at most (200)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per time, the median reported (3)")
    parser.add_argument("--modes", default=",".join(modes))
    parser.add_argument("--bs", default="1,8,32,64,128,256,512,1024")
    parser.add_argument("--widths", default=widths, help=widths_help)
    parser.add_argument("--lives", default="short,long", help="short, long, mixed (short but for one long request)")
    parser.add_argument("--page-sizes", default=page_sizes)
    return parser


def add_run_flags(parser, quick):
    """The flags both scripts take after their grid's: the limits, the cold runs, --quick (the `quick` subset of the
    grid), --json, and --cold-child, with which cold_runs starts a script."""
    parser.add_argument("--mem-gib", type=float, default=24.0)
    parser.add_argument("--time-limit", type=float, default=330.0, help="seconds after which no group starts")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold first-call subprocesses")
    parser.add_argument("--quick", action="store_true", help=f"a smoke subset: {quick}, one cold point")
    parser.add_argument("--json", help="write the report here")
    parser.add_argument("--cold-child", help=argparse.SUPPRESS)


def parse_grid(parser, argv, quick, known_modes=None):
    """The options, --quick's subset taken where a flag was left at its default, the grid's lists split; where
    known_modes is given, --modes outside it is an error before the lists' numbers are read."""
    options = parser.parse_args(argv)
    if options.quick:
        for key, value in quick.items():
            if parser.get_default(key) == getattr(options, key):
                setattr(options, key, value)
    options.modes = options.modes.split(",")
    unknown = set(options.modes) - set(known_modes) if known_modes else set()
    if unknown:
        parser.error(f"--modes: {', '.join(sorted(unknown))} not among {', '.join(known_modes)}")
    options.lives = options.lives.split(",")
    for key in ("bs", "widths", "page_sizes"):
        setattr(options, key, [int(v) for v in str(getattr(options, key)).split(",")])
    return options


def parse_paged_grid(parser, argv, quick, known_modes):
    """parse_grid, and each width a multiple of each page size (a paged family's table is width / P pages)."""
    options = parse_grid(parser, argv, quick, known_modes)
    bad = [(w, p) for w in options.widths for p in options.page_sizes if w % p]
    if bad:
        parser.error(f"each width must be a multiple of each page size, not {bad}")
    return options
