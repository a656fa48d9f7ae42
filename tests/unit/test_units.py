"""Units at the spec boundary: durations, sizes, and compose-style interpolation."""

from __future__ import annotations

import pytest

from orchestrate.spec.interpolate import InterpolationError, interpolate
from orchestrate.spec.units import format_duration, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("2m", 120.0),
        ("1h30m", 5400.0),
        ("1h", 3600.0),
        ("500ms", 0.5),
        ("250us", 0.00025),
        ("1.5s", 1.5),
        ("90", 90.0),  # a bare number is seconds
        ("0", 0.0),
        (" 2m ", 120.0),
        (45, 45.0),
        (2.5, 2.5),
    ],
)
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3 weeks", "'3 weeks' is not a duration (expected e.g. 30s, 2m, 1h30m)"),
        ("1d", "'1d' is not a duration (expected e.g. 30s, 2m, 1h30m)"),
        ("1m30", "'1m30' is not a duration (expected e.g. 30s, 2m, 1h30m)"),
        ("1h 30m", "'1h 30m' is not a duration (expected e.g. 30s, 2m, 1h30m)"),
        ("-1s", "'-1s' is not a duration (expected e.g. 30s, 2m, 1h30m)"),
        ("", "expected a duration like 30s, 2m or 1h30m"),
        (True, "expected a duration like 30s, 2m or 1h30m"),
        (-3, "a duration cannot be negative"),
        # hostile input: other types, NaN and infinity, digits of other scripts, beyond int64 ns
        (float("nan"), "expected a duration like 30s, 2m or 1h30m"),
        (float("inf"), "a duration is at most 2562047h47m16s"),
        ([30], "expected a duration like 30s, 2m or 1h30m"),
        (b"30s", "expected a duration like 30s, 2m or 1h30m"),
        ("\u00b2", "'\u00b2' is not a duration (expected e.g. 30s, 2m, 1h30m)"),
        ("\u0663s", "'\u0663s' is not a duration (expected e.g. 30s, 2m, 1h30m)"),
        ("3000000h", "a duration is at most 2562047h47m16s"),
        ("9" * 400, "a duration is at most 2562047h47m16s"),
        (10**400, "a duration is at most 2562047h47m16s"),
    ],
)
def test_parse_duration_rejects(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(value)  # type: ignore[arg-type]
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.001, "1ms"), (0.5, "500ms"), (1, "1s"), (59, "59s"), (60, "1m"), (90, "1m30s"), (3600, "1h"), (5400, "1h30m"), (3661, "1h1m1s")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("0", 0),
        ("1024", 1024),
        ("1.5k", 1536),
        ("1kb", 1024),
        ("64m", 64 * 1024**2),
        ("512MiB", 512 * 1024**2),
        ("1g", 1024**3),
        ("1 GB", 1024**3),
        ("2t", 2 * 1024**4),
        (10, 10),
    ],
)
def test_parse_size(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10x", "'10x' is not a size (expected e.g. 512m, 1g)"),
        ("m", "'m' is not a size (expected e.g. 512m, 1g)"),
        ("", "'' is not a size (expected e.g. 512m, 1g)"),
        (True, "expected a size like 512m or 1g (a bare number is a whole number of bytes)"),
        (-1, "a size cannot be negative"),
        # hostile input: other types, other scripts' digits, sizes past int64
        (1.5, "expected a size like 512m or 1g (a bare number is a whole number of bytes)"),
        ([1], "expected a size like 512m or 1g (a bare number is a whole number of bytes)"),
        (b"1g", "expected a size like 512m or 1g (a bare number is a whole number of bytes)"),
        ("\u0663m", "'\u0663m' is not a size (expected e.g. 512m, 1g)"),
        ("9999999t", "a size is at most 8 EiB (2^63-1 bytes)"),
        ("9" * 400 + "t", "a size is at most 8 EiB (2^63-1 bytes)"),
        (2**64, "a size is at most 8 EiB (2^63-1 bytes)"),
    ],
)
def test_parse_size_rejects(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_size(value)  # type: ignore[arg-type]
    assert str(caught.value) == message


ENV = {"A": "a", "EMPTY": ""}  # UNSET is not set at all
BAD = "expected $VAR, ${VAR}, ${VAR:-default}, ${VAR:?message} or ${VAR:+other}; write $$ for a literal $"


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("${A}", "a"),
        ("$A", "a"),
        ("x-$A-y", "x-a-y"),
        ("${A}${A}", "aa"),
        ("${UNSET}", ""),
        ("$UNSET", ""),
        # :- uses the default when unset or empty; - only when unset
        ("${A:-d}", "a"),
        ("${EMPTY:-d}", "d"),
        ("${UNSET:-d}", "d"),
        ("${UNSET:-}", ""),
        ("${A-d}", "a"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        # $$ is a literal dollar, and stops interpolation of what follows
        ("$$", "$"),
        ("a$$b", "a$b"),
        ("$${A}", "${A}"),
        # required: set values pass through
        ("${A:?m}", "a"),
        ("${EMPTY?m}", ""),
        ("no dollar here", "no dollar here"),
        # Compose's rules: nested defaults, a `}` outside a variable, :+ and +, defaults used lazily
        ("${UNSET:-${A}}", "a"),
        ("${UNSET-${A} ${A}}", "a a"),
        ("${EMPTY:-$A}", "a"),
        ("${URL:-postgres://${USER:-app}@db/app}", "postgres://app@db/app"),
        ("${UNSET:-a}b}", "ab}"),
        ("${UNSET:-{x}}", "{x}"),
        ("${EMPTY:-/non:-alphanumeric}", "/non:-alphanumeric"),
        ("${UNSET-myerror?msg}", "myerror?msg"),
        ("${A?bar-baz}", "a"),
        ("$A-bar", "a-bar"),
        ("${A:+x}", "x"),
        ("${EMPTY:+x}", ""),
        ("${UNSET:+x}", ""),
        ("${A+x}", "x"),
        ("${EMPTY+x}", "x"),
        ("${UNSET+x}", ""),
        ("${A:+${A}${A}}", "aa"),
        ("${A:-${UNSET:?never looked at}}", "a"),
    ],
)
def test_interpolate(text: str, result: str) -> None:
    assert interpolate(text, ENV) == result


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${UNSET:?set UNSET please}", "required variable UNSET is missing a value: set UNSET please"),
        ("${EMPTY:?must not be empty}", "required variable EMPTY is missing a value: must not be empty"),
        ("${UNSET?m}", "required variable UNSET is missing a value: m"),
        ("${UNSET:?}", "required variable UNSET is missing a value"),
        ("${UNSET?}", "required variable UNSET is missing a value"),
        ("${UNSET:?need ${A}}", "required variable UNSET is missing a value: need a"),
        ("${UNSET:-${OTHER:?x}}", "required variable OTHER is missing a value: x"),
        ("$", "invalid interpolation in '$': " + BAD),
        ("cost: 5$", "invalid interpolation in 'cost: 5$': " + BAD),
        ("${1}", "invalid interpolation in '${1}': " + BAD),
        # Compose's own invalid templates
        ("${", "invalid interpolation in '${': " + BAD),
        ("$}", "invalid interpolation in '$}': " + BAD),
        ("${}", "invalid interpolation in '${}': " + BAD),
        ("${ }", "invalid interpolation in '${ }': " + BAD),
        ("${ foo}", "invalid interpolation in '${ foo}': " + BAD),
        ("${foo }", "invalid interpolation in '${foo }': " + BAD),
        ("${foo!}", "invalid interpolation in '${foo!}': " + BAD),
        ("${A:-${B}", "invalid interpolation in '${A:-${B}': " + BAD),
        ("${A:-" * 20 + "}" * 20, "variables nested more than 16 deep in " + repr("${A:-" * 20 + "}" * 20)),
    ],
)
def test_interpolate_rejects(text: str, message: str) -> None:
    with pytest.raises(InterpolationError) as caught:
        interpolate(text, ENV)
    assert str(caught.value) == message
