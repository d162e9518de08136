"""outcomes.compare against R output stored in tests/outcomes/r/comparisons.json.

The references are made by tests/outcomes/r/comparisons.R (``make
r-references``; R never runs in CI) from ``data/lung.csv``, ``data/bmt.arff``
and ``r/synthetic.csv`` (written by ``r/make_synthetic.py``); the JSON records
the MD5 of each input, checked here, so the references and the data cannot
drift apart. Each data set gives (time, status 0 = censored / 1.. = cause,
group 0/1); log-rank and Cox use ``status == cause`` as the event (any other
status censors), the median follow-up ``status != 0``.

Tolerance: 4 decimals, |ours - R| < 5e-5 (PROTOCOL §10).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import math
import time as clock
from dataclasses import astuple
from pathlib import Path

import numpy as np
import pytest

from outcomes.compare import (
    Comparison,
    Difference,
    HazardRatio,
    cox_hazard_ratio,
    gray_test,
    logrank,
    median_follow_up,
    proportion_difference,
)

HERE = Path(__file__).parent
R = json.loads((HERE / "r" / "comparisons.json").read_text())
TOL = 5e-5
INPUTS = {
    "lung.csv": HERE / "data" / "lung.csv",
    "bmt.arff": HERE / "data" / "bmt.arff",
    "synthetic.csv": HERE / "r" / "synthetic.csv",
}


def _number(value: float | str | None) -> float | None:
    """R's NA/NaN (stored as strings) become None; Inf stays infinite."""
    if value in (None, "NA", "NaN"):
        return None
    return float(value)


def _close(ours: float | None, theirs: float | str | None) -> bool:
    expected = _number(theirs)
    if ours is None or expected is None:
        return ours is None and expected is None
    return abs(ours - expected) < TOL


@functools.cache
def _case(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time, status, group) of one data set, as comparisons.R builds it."""
    if name == "lung":
        with INPUTS["lung.csv"].open(newline="") as fh:
            rows = [
                (r["time"], r["status"], int(r["sex"]) - 1) for r in csv.DictReader(fh)
            ]
    elif name == "bmt":
        lines = INPUTS["bmt.arff"].read_text().splitlines()
        rows = [ln.split(",") for ln in lines[lines.index("@DATA") + 1 :] if ln.strip()]
        rows = [(t, s, g) for g, t, s in rows]
    else:
        with INPUTS["synthetic.csv"].open(newline="") as fh:
            rows = [
                (r["time"], r["status"], r["group"])
                for r in csv.DictReader(fh)
                if r["case"] == name
            ]
    assert rows, name
    time, status, group = zip(*rows, strict=True)
    return (
        np.array(time, dtype=float),
        np.array(status, dtype=int),
        np.array(group, dtype=int),
    )


def _event(name: str, cause: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    time, status, group = _case(name)
    return time, (status == cause).astype(int), group


def _label(entry: dict) -> str:
    return (
        f"{entry['case']}-cause{entry['cause']}" if "cause" in entry else entry["case"]
    )


def _numbers_are_none_or_finite(result) -> bool:
    return all(
        value is None or math.isfinite(value)
        for value in astuple(result)
        if not isinstance(value, str)
    )


def test_the_r_references_were_made_from_the_committed_data():
    for name, path in INPUTS.items():
        digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
        assert R["input_md5"][name] == digest, f"{name} changed: make r-references"


# --- log-rank -----------------------------------------------------------------


@pytest.mark.parametrize("ref", R["logrank"], ids=_label)
def test_logrank_matches_r_survdiff(ref):
    result = logrank(*_event(ref["case"], ref["cause"]))
    assert _numbers_are_none_or_finite(result)
    if ref["df"] < 1:  # R: no events (df -1) or no shared risk set (df 0)
        assert result.statistic is result.p_value is result.z is None
        assert result.reason
        return
    assert result.reason is None
    assert _close(result.statistic, ref["chisq"]), (result, ref)
    assert _close(result.p_value, ref["p"]), (result, ref)
    assert math.copysign(1, result.z) == math.copysign(
        1, ref["observed_minus_expected_group1"]
    )
    assert math.isclose(result.z**2, result.statistic)


# --- Cox ----------------------------------------------------------------------


def _r_could_not_estimate(ref: dict) -> bool:
    """R gave no coefficient, or warned that it may be infinite."""
    return _number(ref["coef"]) is None or any(
        "may be infinite" in warning for warning in np.atleast_1d(ref["warnings"])
    )


@pytest.mark.parametrize("ref", R["cox"], ids=_label)
def test_cox_matches_r_coxph(ref):
    result = cox_hazard_ratio(*_event(ref["case"], ref["cause"]))
    assert _numbers_are_none_or_finite(result)
    if _r_could_not_estimate(ref):
        assert result == HazardRatio(None, None, None, None, None, None, result.reason)
        assert result.reason
        return
    assert result.reason is None
    for ours, theirs in (
        (result.coef, ref["coef"]),
        (result.se, ref["se"]),
        (result.hr, ref["hr"]),
        (result.lower, ref["lower"]),
        (result.upper, ref["upper"]),
        (result.p_value, ref["p"]),
    ):
        assert _close(ours, theirs), (result, ref)


def test_cox_is_not_estimable_exactly_where_r_warns_or_gives_na():
    cases = {_r_could_not_estimate(ref) for ref in R["cox"]}
    assert cases == {True, False}  # the references hold both kinds


def test_cox_reason_names_the_group_without_events():
    time, status, group = _case("one_group")  # cause 1 only in group 1
    result = cox_hazard_ratio(time, status == 1, group)
    assert result.reason == "no events in group 0: the hazard ratio is not finite"
    result = cox_hazard_ratio(time, status == 3, group)
    assert result.reason == "no events"


# --- Gray ---------------------------------------------------------------------


@pytest.mark.parametrize("ref", R["gray"], ids=_label)
def test_gray_matches_r_cuminc_tests(ref):
    time, status, group = _case(ref["case"])
    result = gray_test(time, status, group, ref["cause"])
    assert _numbers_are_none_or_finite(result)
    if ref["absent"]:  # R: a cause without events has no row in $Tests
        assert result == Comparison(
            None, 1, None, None, f"no events of cause {ref['cause']}"
        )
        return
    if ref["stat"] < 0:  # R: stat -1 when the variance is singular
        assert result.statistic is result.p_value is result.z is None
        assert result.reason
        return
    assert result.reason is None
    assert result.df == ref["df"] == 1
    assert _close(result.statistic, ref["stat"]), (result, ref)
    assert _close(result.p_value, ref["pv"]), (result, ref)
    # R's score is group 0's (observed - expected); z is group 1's, signed.
    assert _close(result.z, -ref["score"] / math.sqrt(ref["variance"])), (result, ref)


def test_gray_covers_a_cause_with_events_in_only_one_group():
    for name, cause in (("one_group", 1), ("early", 1)):
        _, status, group = _case(name)
        events = group[status == cause]
        assert events.size and np.unique(events).size == 1
        assert any(r["case"] == name and r["cause"] == cause for r in R["gray"])


def test_gray_counts_every_other_cause_as_competing():
    time, status, group = _case("bmt")
    recoded = np.where(status == 2, 7, status)  # cause 2 renamed 7: same test
    assert gray_test(time, recoded, group, 1) == gray_test(time, status, group, 1)


# --- median follow-up and proportions -----------------------------------------


@pytest.mark.parametrize("ref", R["follow_up"], ids=_label)
def test_median_follow_up_matches_r_reverse_kaplan_meier(ref):
    time, status, _ = _case(ref["case"])
    result = median_follow_up(time, status != 0)
    for name in ("median", "lower", "upper"):
        assert _close(getattr(result, name), ref[name]), (result, ref)


@pytest.mark.parametrize(
    "ref",
    R["proportion"],
    ids=lambda r: f"{r['count1']}/{r['n1']}-{r['count2']}/{r['n2']}",
)
def test_proportion_difference_matches_newcombe_from_r_prop_test(ref):
    result = proportion_difference(ref["count1"], ref["n1"], ref["count2"], ref["n2"])
    for name in ("estimate", "lower", "upper"):
        assert _close(getattr(result, name), ref[name]), (result, ref)


def test_proportion_difference_without_participants_is_none():
    assert proportion_difference(0, 0, 3, 10) == Difference(None, None, None)
    assert proportion_difference(3, 10, 0, 0) == Difference(None, None, None)


@pytest.mark.parametrize(
    "args",
    [(3, 2, 1, 5), (-1, 5, 1, 5), (1, 5, 1, -5), (1.5, 5, 1, 5), (True, 5, 1, 5)],
)
def test_proportion_difference_rejects_bad_counts(args):
    with pytest.raises(ValueError):
        proportion_difference(*args)


# --- degenerate data, bad input, row order, speed -----------------------------


def test_no_events_or_one_group_gives_reasons_not_numbers():
    time = np.arange(1.0, 11.0)
    group = np.array([0, 1] * 5)
    nothing = np.zeros(10, dtype=int)
    assert logrank(time, nothing, group).reason == "no events"
    assert cox_hazard_ratio(time, nothing, group).reason == "no events"
    assert gray_test(time, nothing, group, 1).reason == "no events of cause 1"
    assert median_follow_up(time, nothing).median is not None
    one_group = np.zeros(10, dtype=int)
    status = np.ones(10, dtype=int)
    for result in (
        logrank(time, status, one_group),
        cox_hazard_ratio(time, status, one_group),
        gray_test(time, status, one_group, 1),
    ):
        assert result.reason == "no participants in group 1 (comparison)"
    assert median_follow_up([], []) == median_follow_up(time, np.ones(10, int))


@pytest.mark.parametrize(
    ("time", "status", "group"),
    [
        ([1, 2], [1, 0], [0]),  # lengths differ
        ([1, -2], [1, 0], [0, 1]),  # negative time
        ([1, float("nan")], [1, 0], [0, 1]),
        ([1, 2], [1, 0], [0, 2]),  # group not 0/1
        ([1, 2], [1, -1], [0, 1]),
        ([1, 2], [1, 0.5], [0, 1]),
        ([[1, 2]], [[1, 0]], [[0, 1]]),
        (["a", "b"], [1, 0], [0, 1]),
    ],
)
def test_bad_input_is_refused(time, status, group):
    for call in (logrank, cox_hazard_ratio):
        with pytest.raises(ValueError):
            call(time, status, group)
    with pytest.raises(ValueError):
        gray_test(time, status, group, 1)


def test_event_codes_other_than_0_1_are_refused_where_there_is_one_event():
    with pytest.raises(ValueError):
        logrank([1, 2], [2, 0], [0, 1])
    with pytest.raises(ValueError):
        median_follow_up([1, 2], [2, 0])
    for cause in (0, -1, True, 1.0, "1"):
        with pytest.raises(ValueError):
            gray_test([1, 2], [1, 0], [0, 1], cause)


@pytest.mark.parametrize("name", ["bmt", "ties", "large"])
def test_results_do_not_depend_on_row_order(name):
    time, status, group = _case(name)
    order = np.random.default_rng(2024).permutation(time.size)
    shuffled = time[order], status[order], group[order]
    for call in (logrank, cox_hazard_ratio):
        first = astuple(call(time, status == 1, group))
        second = astuple(call(shuffled[0], shuffled[1] == 1, shuffled[2]))
        assert first == pytest.approx(second, rel=1e-12, abs=1e-15)
    for cause in (1, 2):
        first = astuple(gray_test(time, status, group, cause))
        assert first == pytest.approx(astuple(gray_test(*shuffled, cause)), rel=1e-12)
    assert median_follow_up(time, status > 0) == median_follow_up(
        shuffled[0], shuffled[1] > 0
    )


def test_each_comparison_takes_under_half_a_second_for_20000_participants():
    rng = np.random.default_rng(7)
    n = 20_000
    group = rng.integers(0, 2, n)
    failure = rng.exponential(400, n) * (1 + 0.3 * group)
    censor = rng.uniform(0, 800, n)
    status = np.where(failure <= censor, rng.integers(1, 3, n), 0)
    time = np.minimum(failure, censor)  # distinct times: the slow case
    calls = {
        "logrank": lambda: logrank(time, status == 1, group),
        "cox": lambda: cox_hazard_ratio(time, status == 1, group),
        "gray": lambda: gray_test(time, status, group, 1),
        "follow-up": lambda: median_follow_up(time, status > 0),
    }
    for name, call in calls.items():
        seconds = []
        for _ in range(3):
            start = clock.perf_counter()
            result = call()
            seconds.append(clock.perf_counter() - start)
        assert getattr(result, "reason", None) is None
        assert min(seconds) < 0.5, (name, seconds)
