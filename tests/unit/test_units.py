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
        (True, "expected a size like 512m or 1g"),
        (-1, "a size cannot be negative"),
    ],
)
def test_parse_size_rejects(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_size(value)  # type: ignore[arg-type]
    assert str(caught.value) == message


ENV = {"A": "a", "EMPTY": ""}  # UNSET is not set at all


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
    ],
)
def test_interpolate(text: str, result: str) -> None:
    assert interpolate(text, ENV) == result


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${UNSET:?set UNSET please}", "set UNSET please"),
        ("${EMPTY:?must not be empty}", "must not be empty"),
        ("${UNSET?m}", "m"),
        ("${UNSET:?}", "required variable UNSET is not set"),
        ("$", "invalid interpolation in '$': use $$ for a literal $"),
        ("cost: 5$", "invalid interpolation in 'cost: 5$': use $$ for a literal $"),
        ("${1}", "invalid interpolation in '${1}': use $$ for a literal $"),
    ],
)
def test_interpolate_rejects(text: str, message: str) -> None:
    with pytest.raises(InterpolationError) as caught:
        interpolate(text, ENV)
    assert str(caught.value) == message
