"""Property: whatever a spec file holds, `stateful diff`'s load path (specs -> desired apps, before
any engine call) ends in accepted apps or our SpecError at file:line:col, quickly and in bounded
memory; never another exception.

Inputs are mutations of the shipped specs. The budget is fixed so the suite stays fast; raise it
for a release run with STATEFUL_FUZZ_EXAMPLES (e.g. 20000).
"""

from __future__ import annotations

import atexit
import os
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrate.errors import SpecError
from orchestrate.runs.pipeline import load

ROOT = Path(__file__).resolve().parents[2]
SEEDS = sorted(p.read_text(encoding="utf-8") for p in [*ROOT.glob("specs/*.yaml"), *ROOT.glob("examples/*/*.yaml")])
EXAMPLES = int(os.environ.get("STATEFUL_FUZZ_EXAMPLES", "300"))
MAX_SECONDS = 1.0
MAX_BYTES = 64 * 1024 * 1024
TOTALS: Counter[str] = Counter()  # printed at exit with STATEFUL_FUZZ_REPORT=1 (pytest -s -p no:xdist)
if os.environ.get("STATEFUL_FUZZ_REPORT"):
    atexit.register(lambda: print(f"spec fuzz: {sum(TOTALS.values())} inputs, {TOTALS['accepted']} accepted, {TOTALS['spec errors']} spec errors"))
load([ROOT / "specs"], {"MYSQL_ROOT_PASSWORD": "x"})  # imports happen here, not inside the first timed input

ATOMS = [
    "!!int x",
    "!!float [1]",
    "!!bool {}",
    "!!set [a]",
    "!!omap {a: 1}",
    "!!binary zz",
    "!custom x",
    "%YAML 1.3\n---\n",
    "%YAML 1.1\n---\n",
    "%TAG ! tag:x,2000:\n---\n",
    "? [a]\n: b",
    "? {a: 1}\n: b",
    "&a [x, x]",
    "*a",
    "<<: *a",
    "<<: 1",
    ".inf",
    "-.inf",
    ".nan",
    "1e-12",
    "1e400",
    "-1",
    "0",
    "1.5",
    "9" * 5000,
    "0x" + "f" * 300,
    "99999999h",
    "3000000h",
    "2001-13-45",
    "2001-12-14",
    "~",
    "null",
    "true",
    "yes",
    "0750",
    "0o750",
    "[]",
    "{}",
    "''",
    '""',
    "'a",
    '"\\e[31m"',
    "\x00",
    "\x1b[2J",
    "\u202e",
    "\ufeff",
    "\t",
    "\r\n",
    "${",
    "$}",
    "${A:-${B}}",
    "${A:+x}",
    "${A+x}",
    "${A:?boom}",
    "${A?}",
    "$$",
    "$",
    "${A:-" * 20,
    "}" * 20,
    "[" * 100,
    "{" * 40,
    "- " * 40,
    "echo 'unbalanced",
    "/data/../etc",
    "//data",
    "/data/.",
    "999.999.999.999:80:80",
    "127.0.1:8080:80",
    "\u0663\u0663:80",
    "3306:3306\n",
    "80:80/tcp",
    "mysql\n",
    "A\nB",
    "x" * 70,
    "a" * 5000,
    "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
]
SWAPS = ["[1, 2]", "{a: 1}", "1.5", "true", "~", '"x"', ".nan", ".inf", "-1"]
BOMB = 'z0: &z0 ["x","x","x","x","x","x","x","x","x"]\n' + "".join(f"z{i}: &z{i} [" + ",".join([f"*z{i - 1}"] * 9) + "]\n" for i in range(1, 8))


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(SEEDS)).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines)))
        atom = draw(st.one_of(st.sampled_from(ATOMS), st.text(max_size=12)))
        how = draw(st.sampled_from(["value", "insert", "replace", "key", "bomb", "deepen", "swap"]))
        if how == "bomb":
            lines.append(BOMB)
        elif how == "deepen":
            depth = draw(st.integers(1, 60))
            lines.append("".join(" " * i + f"k{i}:\n" for i in range(depth)))
        elif how == "swap" and index < len(lines) and ":" in lines[index]:
            key = lines[index].split(":", 1)[0]
            lines[index] = f"{key}: {draw(st.sampled_from(SWAPS))}"
        elif how == "value" and index < len(lines) and ":" in lines[index]:
            lines[index] = lines[index].split(":", 1)[0] + ": " + atom
        elif how == "key" and index < len(lines):
            lines[index] = atom + lines[index].lstrip()[len(lines[index].lstrip().split(":")[0]) :]
        else:
            lines.insert(index, atom)
    return "\n".join(lines) + "\n"


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
@given(
    text=mutated_specs(), environ=st.dictionaries(st.sampled_from(["A", "B", "MYSQL_ROOT_PASSWORD", "STATEFUL_MARIADB_IMAGE"]), st.text(max_size=8))
)
def test_every_mutated_spec_is_accepted_or_a_located_spec_error(text: str, environ: dict[str, str]) -> None:
    directory = Path(os.environ.get("TMPDIR", "/tmp")) / f"stateful-fuzz-{os.getpid()}"
    directory.mkdir(exist_ok=True)
    (directory / "secrets").mkdir(exist_ok=True)
    (directory / "secrets" / "root-password").write_text("x")
    (directory / "spec.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    tracemalloc.start()
    started = time.monotonic()
    try:
        load([directory / "spec.yaml"], environ)
        TOTALS["accepted"] += 1
    except SpecError as exc:
        TOTALS["spec errors"] += 1
        assert all(p.file.endswith("spec.yaml") for p in exc.problems)
        assert all(p.line >= 1 or "KiB" in p.message for p in exc.problems), exc.problems
        assert "\n" not in str(exc).replace("\n" + str(directory), "")
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    elapsed = time.monotonic() - started
    assert elapsed < MAX_SECONDS, f"{elapsed:.2f}s for {text[:200]!r}"
    assert peak < MAX_BYTES, f"{peak} bytes for {text[:200]!r}"
