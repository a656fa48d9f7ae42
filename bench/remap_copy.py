"""Copy benchmark: how fast a remap moves a volume's data, next to `cp -a` and `tar | tar` on the host.

What is measured:

1. A data set of --size-mib MiB (default 1024) is written to a temp dir under /var/tmp (or next to
   the Docker root when /var/tmp is a tmpfs): many small files (1-16 KiB, ~20,000 per GiB, in
   nested dirs), medium files (1-4 MiB), a few large ones (64-256 MiB), symlinks (file, dir,
   dangling), hard links, one sparse file, a subtree owned by 999:999, a few odd modes. Content and
   sizes come from a seeded RNG (--seed): the same arguments give the same bytes. Its size counts
   each inode once, by the smaller of its length and its allocated blocks (the sparse file by its
   real blocks).
2. Each round (--repeat rounds, the order rotating) times, with the page cache dropped before each
   copy when possible (`sync; echo 3 > /proc/sys/vm/drop_caches`):
   a. stateful's remap copy: `run_helper(HELPER, COPY, mounts)` of `orchestrate.act.copy` (`cp -a
      --sparse=always /from/. /to/; sync`) from a read-only bind of the data to a fresh named
      volume, then VERIFY (listing + SHA-256 of every file on both sides) right after, as a remap
      runs it (warm cache). Also `run_helper` of `true` on the same mounts: the container overhead.
   b. `cp -a SRC/. DST/` on the host, then a separate `sync` (stateful's COPY ends with one; plain
      cp does not); also with `--sparse=always`, the very command COPY runs, without the container.
      DST is the directory of a fresh volume, as for stateful's copy (--host-dest volume), or a
      fresh dir next to the volumes (--host-dest dir, e.g. /var/lib/docker/bench-copy-<name>).
      Where the copy lands matters: on this project's VM, on the same filesystem, copies under
      /var/lib/docker/<dir>/ ran 1.2x (1 GiB) to 1.5x (256 MiB) slower than into volumes/<name>/_data
      (block placement on the virtual disk, probably): stateful then looked faster than its own cp.
   c. `tar -C SRC -cf - . | tar -C DST -xf -`, the same way (tar without -S fills sparse files in).
   The table gives median/min/max seconds and MiB/s of the median; then the throughput ratios
   stateful/cp-a and stateful/tar (the project's target: >= 0.8x of cp -a). Numbers only.

Everything created (data dir, host copies, volumes, helper containers) carries this run's random
`bcopy<hex>` name and is removed at the end, also on errors, Ctrl-C and SIGTERM. Nothing is pruned.

Usage: .venv/bin/python bench/remap_copy.py [--size-mib 1024] [--repeat 3] [--seed 1] [--host-dest volume|dir]
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import signal
import stat
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from orchestrate import labels as L
from orchestrate.act.copy import COPY, VERIFY
from orchestrate.backends import Engine, connect
from orchestrate.errors import StatefulError
from orchestrate.model.desired import Mount, VolumeSpec

HELPER = os.environ.get("STATEFUL_HELPER_IMAGE", "stateful-test/base:bookworm")
MIB = 1 << 20
KIB = 1 << 10
SMALL_PER_GIB = 20_000
LARGE_SIZES_MIB = (256, 128, 64)
LARGE_SHARE = 0.45  # of the data set, at most, in large files
SPARSE_DATA_SHARE = 128  # the sparse file holds 1/128 of the data set in 1 MiB chunks ...
SPARSE_STRETCH = 16  # ... spread over 16 times that length
BASE_MTIME = 1_700_000_000
TARGET_RATIO = 0.8


def say(text: str = "") -> None:
    print(text, flush=True)


# --- the data set ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataSet:
    root: Path
    files: int  # regular file paths (hard links included)
    dirs: int
    symlinks: int
    hardlinks: int  # extra names of an already counted inode
    data_bytes: int  # each inode once, min(length, allocated)
    apparent_bytes: int  # each inode once, by length
    sparse_apparent: int
    sparse_allocated: int

    @property
    def mib(self) -> float:
        return self.data_bytes / MIB


def write_file(path: Path, rng: random.Random, size: int, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        left = size
        while left > 0:
            chunk = min(left, 4 * MIB)
            out.write(rng.randbytes(chunk))
            left -= chunk
    path.chmod(mode)
    set_mtime(path, rng)


def set_mtime(path: Path, rng: random.Random) -> None:
    stamp = (BASE_MTIME + rng.randrange(86_400 * 365)) * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def small_files(root: Path, rng: random.Random, count: int) -> int:
    """`count` files of 1-16 KiB under small/aNN/bNN/cN/ (16 x 16 x 4 leaf dirs); their bytes."""
    total = 0
    for i in range(count):
        size = rng.randint(KIB, 16 * KIB)
        path = root / "small" / f"a{i % 16:02d}" / f"b{(i // 16) % 16:02d}" / f"c{(i // 256) % 4}" / f"f{i:06d}.dat"
        write_file(path, rng, size, 0o600 if i % 97 == 0 else 0o644)
        total += size
    return total


def large_files(root: Path, rng: random.Random, budget: int) -> int:
    """A few files of 256/128/64 MiB that fit in `budget` (one smaller file when none fits)."""
    sizes = []
    for size_mib in LARGE_SIZES_MIB:
        if size_mib * MIB <= budget - sum(sizes):
            sizes.append(size_mib * MIB)
    if not sizes and budget >= 8 * MIB:
        sizes.append(budget // MIB * MIB)
    for i, size in enumerate(sizes):
        write_file(root / "large" / f"l{i}.bin", rng, size)
    return sum(sizes)


def medium_files(root: Path, rng: random.Random, budget: int) -> int:
    """Files of 1-4 MiB until `budget` is used; half of them owned by 999:999 (like a database's)."""
    total, i = 0, 0
    while budget - total >= 64 * KIB:
        size = min(rng.randint(MIB, 4 * MIB), budget - total)
        owned = i % 2 == 0
        path = root / ("db" if owned else "media") / f"m{i:04d}.bin"
        write_file(path, rng, size, 0o640 if owned else 0o755 if i % 7 == 1 else 0o644)
        if owned:
            os.chown(path, 999, 999)
        total, i = total + size, i + 1
    if (root / "db").is_dir():
        os.chown(root / "db", 999, 999)
    return total


def sparse_file(root: Path, rng: random.Random, chunks: int) -> None:
    """sparse/disk.img: `chunks` MiB of data spread over SPARSE_STRETCH times that length."""
    path = root / "sparse" / "disk.img"
    path.parent.mkdir(parents=True, exist_ok=True)
    length = chunks * SPARSE_STRETCH * MIB
    with open(path, "wb") as out:
        out.truncate(length)
        for i in range(chunks):
            out.seek(i * SPARSE_STRETCH * MIB + rng.randrange(SPARSE_STRETCH - 1) * MIB)
            out.write(rng.randbytes(MIB))
    set_mtime(path, rng)


def links(root: Path) -> None:
    """Symlinks (file, dir, dangling) and hard links (two to small files, one to a medium file)."""
    (root / "links").mkdir()
    (root / "links" / "latest").symlink_to("../large/l0.bin")
    (root / "links" / "smalldir").symlink_to("../small/a00")
    (root / "links" / "dangling").symlink_to("../does-not-exist")
    os.link(root / "small" / "a00" / "b00" / "c0" / "f000000.dat", root / "links" / "hard-small")
    os.link(root / "small" / "a01" / "b00" / "c0" / "f000001.dat", root / "small" / "a02" / "hard-small-2.dat")
    medium = sorted((root / "media").glob("*.bin")) or sorted((root / "db").glob("*.bin"))
    if medium:
        os.link(medium[0], root / "links" / "hard-medium")


def generate(root: Path, size_mib: int, seed: int) -> DataSet:
    """Write the data set under `root` and measure it."""
    rng = random.Random(seed)
    total = size_mib * MIB
    used = small_files(root, rng, max(100, round(SMALL_PER_GIB * size_mib / 1024)))
    chunks = max(1, size_mib // SPARSE_DATA_SHARE)
    sparse_file(root, rng, chunks)
    used += chunks * MIB
    used += large_files(root, rng, min(int(total * LARGE_SHARE), total - used))
    medium_files(root, rng, total - used)
    links(root)
    return measure(root)


def measure(root: Path) -> DataSet:
    """Count the entries under `root`; each inode's bytes once."""
    seen: set[int] = set()
    files = dirs = symlinks = hardlinks = data = apparent = 0
    for top, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            st = os.lstat(os.path.join(top, name))
            if stat.S_ISLNK(st.st_mode):
                symlinks += 1
            elif stat.S_ISDIR(st.st_mode):
                dirs += 1
            elif st.st_ino in seen:
                files, hardlinks = files + 1, hardlinks + 1
            else:
                seen.add(st.st_ino)
                files, data, apparent = files + 1, data + min(st.st_size, st.st_blocks * 512), apparent + st.st_size
    sparse = os.stat(root / "sparse" / "disk.img")
    return DataSet(root, files, dirs, symlinks, hardlinks, data, apparent, sparse.st_size, sparse.st_blocks * 512)


# --- the machine ---------------------------------------------------------------------------------------


def fs_type(path: Path) -> str:
    """The filesystem type of the mount holding `path` (from /proc/self/mountinfo)."""
    real = os.path.realpath(path)
    best, kind = "", "?"
    with open("/proc/self/mountinfo") as info:
        for line in info:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")
            fs = fields[fields.index("-") + 1]
            inside = real == point or real.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best, kind = point, fs
    return kind


def drop_caches() -> str | None:
    """Write back and drop the page cache; None when done, else why not."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as knob:
            knob.write("3\n")
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    return None


def docker_root() -> Path:
    import docker  # the SDK stateful depends on

    return Path(docker.from_env().info().get("DockerRootDir") or "/var/lib/docker")


def fit_size(size_mib: int, places: list[Path]) -> int:
    """The data set must fit three times (source, one copy, tar's filled-in sparse file) plus 1 GiB."""
    free = min(shutil.disk_usage(p).free for p in places)
    fits = (free - 1024 * MIB) // 3 // MIB
    if fits >= size_mib:
        return size_mib
    if fits < 16:
        raise SystemExit(f"only {free / MIB:.0f} MiB free on {', '.join(map(str, places))}: not enough for a copy benchmark")
    say(f"SHRUNK: {free / MIB:.0f} MiB free on {', '.join(map(str, places))}; --size-mib {size_mib} -> {fits}")
    return int(fits)


def load_average() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


# --- clean-up ------------------------------------------------------------------------------------------


@dataclass
class Janitor:
    """Removes, at the end, exactly the dirs, volumes and containers registered before creating them."""

    engine: Engine
    dirs: list[Path] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)

    def clean(self) -> None:
        import docker

        api = docker.from_env().api
        for name in self.containers:
            if api.containers(all=True, filters={"name": f"^/{name}$"}):
                _quietly(api.remove_container, name, force=True, v=False)
        for name in list(self.volumes):
            self.drop_volume(name)
        for path in reversed(self.dirs):
            if path.exists():
                shutil.rmtree(path, onerror=lambda _f, p, e: say(f"  (cleanup: {p}: {e[1]})"))
        self.dirs, self.containers = [], []

    def drop_volume(self, name: str) -> None:
        _quietly(self.engine.remove_volume, name)
        if name in self.volumes:
            self.volumes.remove(name)


def _quietly(call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    try:
        call(*args, **kwargs)
    except Exception as exc:  # cleanup goes on; what failed is said
        say(f"  (cleanup: {exc})")


# --- the timed runs ------------------------------------------------------------------------------------


@dataclass
class Samples:
    runs: dict[str, list[float]] = field(default_factory=dict)
    cache: set[str] = field(default_factory=set)  # what each drop of the page cache gave
    verified: str = ""

    def add(self, label: str, seconds: float) -> None:
        self.runs.setdefault(label, []).append(seconds)


@dataclass(frozen=True)
class Context:
    engine: Engine
    janitor: Janitor
    src: Path
    scratch: Path  # a dir next to the Docker volumes, for --host-dest dir
    prefix: str
    host_dest: str = "volume"  # each into a fresh volume's own directory, as stateful's; "dir": into `scratch`


def cold() -> str:
    why = drop_caches()
    return "dropped" if why is None else why


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def helper(ctx: Context, command: list[str], mounts: list[Mount]) -> str:
    name = f"{ctx.prefix}{L.RESERVED_INFIX}copy"
    code, output = ctx.engine.run_helper(HELPER, command, mounts, name=name)
    if code != 0:
        raise RuntimeError(f"helper {' '.join(command)[:60]} exited {code}: {output.strip()[-800:]}")
    return output.strip()


def round_stateful(ctx: Context, index: int, samples: Samples) -> None:
    volume = f"{ctx.prefix}-vol{index}"
    ctx.janitor.volumes.append(volume)
    ctx.engine.create_volume(VolumeSpec(name=volume, app=ctx.prefix, key="data"))
    mounts = [Mount(target="/from", kind="bind", source=str(ctx.src), read_only=True), Mount(target="/to", kind="volume", source=volume)]
    samples.add("helper overhead", timed(lambda: helper(ctx, ["true"], mounts)))
    samples.cache.add(cold())
    copy_s = timed(lambda: helper(ctx, COPY, mounts))
    verified: list[str] = []
    verify_s = timed(lambda: verified.append(helper(ctx, VERIFY, mounts)))
    samples.add("stateful copy", copy_s)
    samples.add("stateful verify", verify_s)
    samples.add("stateful copy+verify", copy_s + verify_s)
    samples.verified = verified[0].splitlines()[-1] if verified and verified[0] else ""
    ctx.janitor.drop_volume(volume)


def host_copy(ctx: Context, label: str, run: Callable[[Path], None], samples: Samples) -> None:
    slug = "".join(c if c.isalnum() else "-" for c in label).strip("-")
    volume = f"{ctx.prefix}-{slug}" if ctx.host_dest == "volume" else None
    dst = fresh_volume(ctx, volume) if volume else ctx.scratch / slug
    if not volume:
        dst.mkdir()
    samples.cache.add(cold())
    copy_s = timed(lambda: run(dst))
    sync_s = timed(os.sync)
    samples.add(label, copy_s)
    samples.add(f"{label} + sync", copy_s + sync_s)
    if volume:
        ctx.janitor.drop_volume(volume)
    else:
        shutil.rmtree(dst)


def fresh_volume(ctx: Context, name: str) -> Path:
    """Create a volume as a remap does; its directory on the host."""
    import docker

    ctx.janitor.volumes.append(name)
    ctx.engine.create_volume(VolumeSpec(name=name, app=ctx.prefix, key="data"))
    return Path(docker.from_env().api.inspect_volume(name)["Mountpoint"])


def cp_a(src: Path, *flags: str) -> Callable[[Path], None]:
    def run(dst: Path) -> None:
        subprocess.run(["cp", "-a", *flags, f"{src}/.", f"{dst}/"], check=True)

    return run


def tar_pipe(src: Path) -> Callable[[Path], None]:
    def run(dst: Path) -> None:
        packer = subprocess.Popen(["tar", "-C", str(src), "-cf", "-", "."], stdout=subprocess.PIPE)
        assert packer.stdout is not None
        unpacker = subprocess.Popen(["tar", "-C", str(dst), "-xf", "-"], stdin=packer.stdout)
        packer.stdout.close()  # the unpacker holds the pipe now
        codes = (unpacker.wait(), packer.wait())
        if any(codes):
            raise RuntimeError(f"tar | tar exited {codes[1]} | {codes[0]}")

    return run


def bench(ctx: Context, repeat: int) -> Samples:
    """`repeat` rounds of the copies, their order rotating from round to round."""
    samples = Samples()
    steps: list[Callable[[int], None]] = [
        lambda i: round_stateful(ctx, i, samples),
        lambda _i: host_copy(ctx, "cp -a", cp_a(ctx.src), samples),
        lambda _i: host_copy(ctx, "cp -a --sparse=always", cp_a(ctx.src, "--sparse=always"), samples),
        lambda _i: host_copy(ctx, "tar | tar", tar_pipe(ctx.src), samples),
    ]
    for index in range(repeat):
        started = time.perf_counter()
        turn = index % len(steps)
        for step in steps[turn:] + steps[:turn]:
            step(index)
        say(f"  round {index + 1}/{repeat}: {time.perf_counter() - started:.1f} s ({load_average()})")
    return samples


# --- output --------------------------------------------------------------------------------------------

ROWS = (
    ("stateful copy", "stateful copy (helper: cp -a --sparse=always; sync)"),
    ("stateful verify", "stateful verify (helper, right after the copy)"),
    ("stateful copy+verify", "stateful copy + verify"),
    ("helper overhead", "helper overhead per run_helper (`true`, same mounts)"),
    ("cp -a", "host cp -a"),
    ("cp -a + sync", "host cp -a, then sync"),
    ("cp -a --sparse=always", "host cp -a --sparse=always (COPY's cp, no container)"),
    ("cp -a --sparse=always + sync", "host cp -a --sparse=always, then sync"),
    ("tar | tar", "host tar -cf - | tar -xf -"),
    ("tar | tar + sync", "host tar | tar, then sync"),
)


def print_table(data: DataSet, samples: Samples, repeat: int) -> None:
    say(f"\n{data.mib:.1f} MiB, median of {repeat} runs{'':<25}median s    min s    max s    MiB/s")
    for key, label in ROWS:
        runs = samples.runs.get(key, [])
        if not runs:
            continue
        median = statistics.median(runs)
        rate = f"{data.mib / median:8.1f}" if key != "helper overhead" else f"{'-':>8}"
        say(f"  {label:<54}{median:8.2f} {min(runs):8.2f} {max(runs):8.2f} {rate}")
    print_ratios(samples)


def ratio(samples: Samples, ours: str, theirs: str) -> str:
    """Throughput ratio ours/theirs = their median time / our median time."""
    return f"{statistics.median(samples.runs[theirs]) / statistics.median(samples.runs[ours]):5.2f}x"


RATIOS = (
    ("stateful copy", "cp -a", "stateful copy / cp -a", ""),
    ("stateful copy", "tar | tar", "stateful copy / tar | tar", ""),
    ("stateful copy", "cp -a + sync", "stateful copy / (cp -a + sync)", "both end with a sync"),
    ("stateful copy", "tar | tar + sync", "stateful copy / (tar | tar + sync)", "both end with a sync; tar fills the sparse file in"),
    ("stateful copy", "cp -a --sparse=always + sync", "stateful copy / (cp -a --sparse=always + sync)", "the same commands, without the container"),
    ("stateful copy+verify", "cp -a", "stateful copy+verify / cp -a", "a whole remap's data step"),
)


def print_ratios(samples: Samples) -> None:
    say(f"\nthroughput ratios, stateful/other (higher is better for stateful; the project's target: >= {TARGET_RATIO}x of cp -a)")
    for ours, theirs, label, note in RATIOS:
        if ours in samples.runs and theirs in samples.runs:
            say(f"  {label:<50}{ratio(samples, ours, theirs)}" + (f"   ({note})" if note else ""))


def describe(data: DataSet, seconds: float, where: str) -> None:
    say(
        f"data set: {data.mib:.1f} MiB ({data.apparent_bytes / MIB:.1f} MiB apparent) in {data.files:,} files, {data.dirs:,} dirs, "
        f"{data.symlinks} symlinks, {data.hardlinks} hard links; sparse file {data.sparse_apparent / MIB:.0f} MiB long, "
        f"{data.sparse_allocated / MIB:.0f} MiB allocated; written in {seconds:.1f} s to {data.root} ({where})"
    )


# --- main ----------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the data set in MiB (default: 1024)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each copy (default: 3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the data set's sizes and bytes (default: 1)")
    parser.add_argument(
        "--host-dest",
        choices=("volume", "dir"),
        default="volume",
        help="where each host copy goes: a fresh volume's directory, where stateful's copy goes (default), or a fresh dir next to the volumes",
    )
    args = parser.parse_args(argv)
    if args.size_mib < 16 or args.repeat < 1:
        parser.error("--size-mib takes at least 16, --repeat at least 1")
    return args


def data_parent(root: Path) -> Path:
    """/var/tmp, unless it is a tmpfs (RAM would flatter every number): then next to the Docker root."""
    kind = fs_type(Path("/var/tmp"))
    return root.parent if kind == "tmpfs" else Path("/var/tmp")


class Terminated(BaseException):
    """SIGTERM, raised where the main thread is: it unwinds through the clean-up like Ctrl-C."""


def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise Terminated


def run(args: argparse.Namespace, ctx: Context) -> int:
    say(f"generating {args.size_mib} MiB (seed {args.seed}) ...")
    started = time.perf_counter()
    ctx.src.mkdir()
    data = generate(ctx.src, args.size_mib, args.seed)
    same = _same_fs(ctx.src, ctx.scratch.parent / "volumes")
    describe(data, time.perf_counter() - started, f"{fs_type(ctx.src)}, same filesystem as the volumes: {same}")
    note = cold()
    dropped = "dropped before each copy (sync; echo 3 > /proc/sys/vm/drop_caches)"
    say(f"page cache: {dropped if note == 'dropped' else f'NOT dropped ({note}): warm-cache numbers'}")
    samples = bench(ctx, args.repeat)
    print_table(data, samples, args.repeat)
    say(f"\nverify said: {samples.verified}")
    say(f"page cache before each copy: {', '.join(sorted(samples.cache))}")
    return 0


def _same_fs(a: Path, b: Path) -> str:
    return "yes" if os.stat(a).st_dev == os.stat(b).st_dev else "no"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    signal.signal(signal.SIGTERM, on_sigterm)
    root = docker_root()
    prefix = f"bcopy{secrets.token_hex(4)}"
    engine = connect()
    janitor = Janitor(engine)
    work = data_parent(root) / f"bench-copy-{prefix}"
    scratch = root / f"bench-copy-{prefix}"
    args.size_mib = fit_size(args.size_mib, [data_parent(root), root])
    host = scratch if args.host_dest == "dir" else "fresh volumes (one per run)"
    say(f"helper image {HELPER}; engine {engine.endpoint}; data in {work}; host copies in {host}; volumes in {root / 'volumes'}")
    say(f"{load_average()}; kernel {os.uname().release}")
    janitor.dirs += [work, scratch]
    janitor.containers.append(f"{prefix}{L.RESERVED_INFIX}copy")
    code = 1
    try:
        work.mkdir()
        if args.host_dest == "dir":
            scratch.mkdir()
        code = run(args, Context(engine, janitor, work / "src", scratch, prefix, args.host_dest))
    except (KeyboardInterrupt, Terminated) as exc:
        say(f"\n{'terminated' if isinstance(exc, Terminated) else 'interrupted'}: cleaning up")
        code = 143 if isinstance(exc, Terminated) else 130
    except (RuntimeError, OSError, subprocess.CalledProcessError, StatefulError) as exc:
        say(f"\nFAILED: {exc}\ncleaning up")
    finally:
        janitor.clean()
    say(f"\ntotal run time {time.perf_counter() - started:.0f} s; {load_average()}")
    sys.exit(code)


if __name__ == "__main__":
    main()
