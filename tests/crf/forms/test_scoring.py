"""PROTOCOL §8 scoring with hand-worked examples."""

import pytest

from crf.forms import scoring


def test_mirels_total_and_impending_threshold():
    # site 3 (peritrochanteric) + pain 2 + lesion 3 (lytic) + size 1 = 9 → impending
    score = scoring.mirels_score({"site": 3, "pain": 2, "lesion": 3, "size": 1})
    assert score == scoring.MirelsScore(total=9, impending=True)
    # 2 + 2 + 2 + 2 = 8 → not impending
    assert scoring.mirels_score({"site": 2, "pain": 2, "lesion": 2, "size": 2}) == (
        scoring.MirelsScore(total=8, impending=False)
    )


def test_mirels_incomplete_is_none_and_out_of_range_is_refused():
    assert scoring.mirels_score({"site": 3, "pain": 2, "lesion": 3}) is None
    with pytest.raises(scoring.ScoreInputError, match="Mirels size must be a whole"):
        scoring.mirels_score({"site": 3, "pain": 2, "lesion": 3, "size": 4})


def test_msts_total_and_percent():
    items = dict(zip(scoring.MSTS_ITEMS, [4, 3, 5, 2, 3, 4], strict=True))
    # 4+3+5+2+3+4 = 21 of 30 = 70.0 %
    assert scoring.msts_score(items) == scoring.MstsScore(total=21, percent=70.0)
    assert scoring.msts_score(dict.fromkeys(scoring.MSTS_ITEMS, 0)) == (
        scoring.MstsScore(total=0, percent=0.0)
    )


def test_msts_with_a_missing_item_has_no_score():
    items = dict(zip(scoring.MSTS_ITEMS, [4, 3, 5, 2, 3, None], strict=True))
    assert scoring.msts_score(items) is None


def test_tess_counts_only_applicable_items():
    # 10 items answered 5, 10 answered 3, 10 not applicable:
    # n = 20, sum = 80 → (80 - 20) / (4 × 20) × 100 = 75.0
    items = [5] * 10 + [3] * 10 + [None] * 10
    assert scoring.tess_score(items) == 75.0


def test_tess_extremes_and_all_not_applicable():
    assert scoring.tess_score([1] * 30) == 0.0
    assert scoring.tess_score([5] * 30) == 100.0
    # a single applicable item answered 4: (4 - 1) / 4 × 100 = 75.0
    assert scoring.tess_score([4] + [None] * 29) == 75.0
    assert scoring.tess_score([None] * 30) is None


def test_tess_refuses_wrong_length_and_values():
    with pytest.raises(scoring.ScoreInputError, match="TESS has 30 items, not 29"):
        scoring.tess_score([3] * 29)
    with pytest.raises(scoring.ScoreInputError, match="TESS item 7 must be"):
        scoring.tess_score([3] * 6 + [0] + [3] * 23)


def test_eq5d_profile_in_dimension_order():
    levels = {
        "mobility": 1,
        "self_care": 1,
        "usual_activities": 2,
        "pain_discomfort": 3,
        "anxiety_depression": 5,
    }
    assert scoring.eq5d_profile(levels) == "11235"
    assert scoring.eq5d_profile({**levels, "pain_discomfort": None}) is None
    with pytest.raises(scoring.ScoreInputError, match="EQ VAS must be"):
        scoring.eq5d_vas_check(101)


def test_bpi_interference_is_the_mean_of_answered_items():
    # (7 + 5 + 8 + 6 + 2 + 4 + 3) / 7 = 35 / 7 = 5.0
    items = dict(
        zip(scoring.BPI_INTERFERENCE_ITEMS, [7, 5, 8, 6, 2, 4, 3], strict=True)
    )
    assert scoring.bpi_interference(items) == 5.0
    # two unanswered: (7 + 5 + 8 + 6 + 2) / 5 = 5.6
    partial = {**items, "enjoyment": None, "sleep": None}
    assert scoring.bpi_interference(partial) == 5.6
    assert scoring.bpi_interference({}) is None
