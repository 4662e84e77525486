"""MMSA metric definitions, checked on cases computed by hand."""

import math

import numpy as np
import pytest

from mmviz.data.metrics import mmsa_metrics


def test_hand_computed_case():
    preds = [1.4, -0.6, 2.5, 0.2]
    labels = [1.0, -1.0, 3.0, 0.0]
    m = mmsa_metrics(preds, labels)
    assert m["MAE"] == pytest.approx((0.4 + 0.4 + 0.5 + 0.2) / 4)
    assert m["Has0_acc_2"] == 1.0  # 0.0 label counts as positive, 0.2 >= 0
    assert m["Non0_acc_2"] == 1.0  # the zero-label clip is dropped
    # Acc-7 rounds half to even like numpy/MMSA: round(2.5) = 2 != 3
    assert m["Mult_acc_7"] == 0.75
    # Acc-5 clips to [-2, 2] first: 2.5 -> 2 and 3 -> 2 agree
    assert m["Mult_acc_5"] == 1.0
    assert m["Corr"] == pytest.approx(np.corrcoef(preds, labels)[0, 1])


def test_has_zero_and_non_zero_differ_on_zero_labels():
    m = mmsa_metrics([-0.1, 1.0, -1.0], [0.0, 1.0, -1.0])
    assert m["Has0_acc_2"] == pytest.approx(2 / 3)  # truth 0 is "positive", prediction -0.1 is not
    assert m["Non0_acc_2"] == 1.0


def test_weighted_f1_on_imbalanced_case():
    # truth: 3 positive, 1 negative; preds all positive
    m = mmsa_metrics([1, 1, 1, 1], [1, 2, 3, -1])
    # positive class f1 = 2*0.75*1/(1.75) = 6/7 (weight 3/4); negative f1 = 0 (weight 1/4)
    assert m["Non0_F1_score"] == pytest.approx(0.75 * 6 / 7)
    assert math.isnan(m["Corr"])  # constant predictions


def test_empty_input_is_refused():
    with pytest.raises(ValueError):
        mmsa_metrics([], [])
