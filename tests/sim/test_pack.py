"""``behavior.pack``: every packed slot holds the config field it names.

The kernels and their numpy references both read the packed vector, so a packing mistake (a field
in the wrong slot, a slot never set) would pass every kernel test. Here each field gets a distinct
value and each slot is checked against the config, field by field, from a table written by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from simrec.sim import behavior as bh
from simrec.sim import presets

# slot -> (config section, field); every slot of the packed vector appears once
FIELDS = {
    "CASCADE_CONT": ("examination", "cascade_continue"),
    "W_AFF": ("choice", "affinity_weight"),
    "W_ATTR": ("choice", "attractiveness_weight"),
    "W_BORED": ("choice", "boredom_weight"),
    "V0": ("choice", "no_click_utility"),
    "C_BIAS": ("consumption", "bias"),
    "C_AFF": ("consumption", "affinity_weight"),
    "C_Q": ("consumption", "quality_weight"),
    "SAT_RATE": ("satisfaction", "rate"),
    "SAT_NC_RATE": ("satisfaction", "no_click_rate"),
    "SAT_NC_TARGET": ("satisfaction", "no_click_target"),
    "DRIFT_RATE": ("drift", "rate"),
    "BORED_GROWTH": ("boredom", "growth"),
    "BORED_DECAY": ("boredom", "decay"),
    "BORED_DAILY": ("boredom", "daily_decay"),
    "BORED_EXPOSURE": ("boredom", "exposure_growth"),
    "LEAVE_BASE": ("session", "base"),
    "LEAVE_SAT": ("session", "satisfaction_weight"),
    "LEAVE_BORED": ("session", "boredom_weight"),
    "LEAVE_NC": ("session", "no_click_weight"),
    "GAP_BASE": ("returns", "gap_base"),
    "GAP_SAT": ("returns", "gap_satisfaction_weight"),
    "CHURN_BASE": ("returns", "churn_base"),
    "CHURN_SAT": ("returns", "churn_satisfaction_weight"),
    "SAT_MEMORY": ("returns", "satisfaction_memory"),
    "N_OPEN": ("notifications", "open_base"),
    "N_REL": ("notifications", "relevance_weight"),
    "N_LOAD": ("notifications", "load_weight"),
    "N_LOAD_DECAY": ("notifications", "load_decay"),
    "N_UNSUB": ("notifications", "unsubscribe_base"),
    "N_UNSUB_LOAD": ("notifications", "unsubscribe_load_weight"),
    "N_ORGANIC": ("notifications", "organic_visit_base"),
}
SWITCHES = {"SAT_ON": "satisfaction", "DRIFT_ON": "drift", "BORED_ON": "boredom", "LEAVE_ON": "session",
            "RET_ON": "returns", "N_ON": "notifications"}
OTHER = {"EXAM_MODEL", "REWARD_WATCH"}


def _with(cfg, section, **changes):
    return cfg.model_copy(update={section: getattr(cfg, section).model_copy(update=changes)})


def _distinct_config(enabled: bool = True):
    """The default world with a distinct value in every packed field and every switch set."""
    cfg = presets.get("default")
    for k, (section, name) in enumerate(FIELDS.values()):
        cfg = _with(cfg, section, **{name: 0.1 + 0.01 * k})
    for section in SWITCHES.values():
        cfg = _with(cfg, section, enabled=enabled)
    return cfg


def test_the_table_covers_every_slot_once():
    slots = [getattr(bh, name) for name in (*FIELDS, *SWITCHES, *OTHER)]
    slots += list(range(bh.EXAM_TABLE0, bh.EXAM_TABLE0 + bh.MAX_TABLE))  # the fitted examination table
    assert sorted(slots) == list(range(bh.N_PARAMS))


def test_the_examination_table_is_packed_slot_by_slot():
    cfg = _with(presets.get("default"), "examination", model="table", table=[0.9, 0.5, 0.25])
    p = bh.pack(cfg)
    assert p[bh.EXAM_MODEL] == bh.EXAM_TABLE
    t = p[bh.EXAM_TABLE0:bh.EXAM_TABLE0 + bh.MAX_TABLE]
    assert list(t[:3]) == [0.9, 0.5, 0.25] and (t[3:] == 0.25).all()  # later slots repeat the last entry


def test_each_slot_holds_its_config_field():
    cfg = _distinct_config()
    p = bh.pack(cfg)
    for slot, (section, name) in FIELDS.items():
        assert p[getattr(bh, slot)] == getattr(getattr(cfg, section), name), (slot, section, name)
    for slot in SWITCHES:
        assert p[getattr(bh, slot)] == 1.0, slot


@pytest.mark.parametrize(("model", "code"), [("none", bh.EXAM_NONE), ("pbm", bh.EXAM_PBM),
                                             ("cascade", bh.EXAM_CASCADE)])
def test_examination_model_and_reward(model, code):
    cfg = _with(presets.get("default"), "examination", model=model)
    assert bh.pack(cfg)[bh.EXAM_MODEL] == code
    assert bh.pack(cfg.model_copy(update={"reward": "watch"}))[bh.REWARD_WATCH] == 1.0
    assert bh.pack(cfg.model_copy(update={"reward": "click"}))[bh.REWARD_WATCH] == 0.0


def test_switched_off_mechanisms_pack_off_and_boredom_leaves_the_utility():
    cfg = _distinct_config(enabled=False)
    p = bh.pack(cfg)
    for slot in SWITCHES:
        assert p[getattr(bh, slot)] == 0.0, slot
    assert p[bh.W_BORED] == 0.0  # no boredom: its weight in the utility is packed as 0
    on = bh.pack(_with(cfg, "boredom", enabled=True))
    assert on[bh.W_BORED] == cfg.choice.boredom_weight
    assert np.array_equal(np.delete(p, [bh.W_BORED, bh.BORED_ON]), np.delete(on, [bh.W_BORED, bh.BORED_ON]))
