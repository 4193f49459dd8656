"""The report's decision rules from Python, and the report itself against the command's."""
import json
import math

import pytest

import zeroloss as zl
from conftest import BINARY, run_cli


def rank_one_member(seed, ratio, tested=True):
    return {"data_seed": seed, "lambda_min": 0.1, "tested": tested, "completed": tested, "final_ratios": [ratio, ratio / 10]}


def test_rank_one_rule():
    ok = zl.decide_rank_one_sgd([rank_one_member(1, 1e-3), rank_one_member(2, 5e-3)])
    assert ok["status"] == "pass" and all(r["held"] for r in ok["rules"])
    bad = zl.decide_rank_one_sgd([rank_one_member(1, 1e-3), rank_one_member(2, 0.02)])
    assert bad["status"] == "fail"
    assert {r["rule"]: r["held"] for r in bad["rules"]} == {"population_tested": True, "runs_completed": True,
                                                           "feature_rank_one": False}
    # The threshold is the argument's: 0.02 passes below 0.03.
    assert zl.decide_rank_one_sgd([rank_one_member(2, 0.02)], rank_one_threshold=0.03)["status"] == "pass"
    # Too few draws fit the budget: 1 of 2 < 0.75.
    few = zl.decide_rank_one_sgd([rank_one_member(1, 1e-3), rank_one_member(2, 0, tested=False)])
    assert {r["rule"]: r["held"] for r in few["rules"]}["population_tested"] is False
    # population_tested is a coverage rule: failing it alone leaves the claim untested, not refuted.
    assert few["status"] == "inconclusive"
    assert {r["rule"]: r["kind"] for r in few["rules"]} == {"population_tested": "coverage", "runs_completed": "evidence",
                                                           "feature_rank_one": "evidence"}
    assert zl.decide_rank_one_sgd([])["status"] == "inconclusive"
    with pytest.raises(zl.InputError, match="member 1: unknown key 'lambda'"):
        zl.decide_rank_one_sgd([{"lambda": 1}])


def test_local_convexity_bracket_and_rule():
    obs = [{"anchor": True, "grad_norm": 0.0, "negative": False}]
    obs += [{"grad_norm": g, "negative": False} for g in [1e-3 * (k + 1) for k in range(12)]]
    obs += [{"grad_norm": 0.05, "negative": False, "search_eps": 0.02},
            {"grad_norm": 0.1, "negative": True, "search_eps": 0.2},
            {"grad_norm": 0.3, "negative": True}]
    bracket = zl.curvature_bracket(obs)
    # g_hi: the smallest gradient with negative curvature; g_lo: the largest convex rung below it;
    # counted: the non-anchor observations below g_lo (the 12 small ones; 0.05 is not below 0.02).
    assert bracket == {"convex_up_to": 0.02, "counterexample_at": 0.1, "convex_points_below": 12}
    member = dict(bracket, data_seed=1, completed=True, lambda_min_at_minimizer=0.5)
    assert zl.decide_local_convexity([member])["status"] == "pass"
    assert zl.decide_local_convexity([member], max_bracket_ratio=4)["status"] == "fail"  # 0.1 / 0.02 = 5
    indefinite = dict(member, lambda_min_at_minimizer=-0.1)
    rules = {r["rule"]: r["held"] for r in zl.decide_local_convexity([indefinite])["rules"]}
    assert rules["positive_definite_at_minimizer"] is False and rules["convex_near_stationarity"] is True
    convex_everywhere = dict(member, counterexample_at=math.inf)
    rules = {r["rule"]: r["held"] for r in zl.decide_local_convexity([convex_everywhere])["rules"]}
    assert rules["not_globally_convex"] is False


def test_flow_rate_rule():
    m = {"name": "a", "completed": True, "sharpness_star": 3.0, "lambda_min": 0.5, "predicted_rate": 1.0,
         "initial_gap": 1.0, "final_gap": 1e-14, "fitted": True, "fitted_rate": 1.02}
    assert zl.decide_flow_rate([m])["status"] == "pass"
    assert zl.decide_flow_rate([dict(m, fitted_rate=1.2)])["status"] == "fail"
    assert zl.decide_flow_rate([dict(m, final_gap=1e-6)])["status"] == "fail"
    assert zl.decide_flow_rate([m], optimum_known=False)["status"] == "not-applicable"


def test_run_report_matches_the_command(tmp_path):
    config = {"claims": ["flow_rate"]}
    summary = zl.run_report(str(tmp_path / "py"), quick=True, config=config, program=str(BINARY))
    (tmp_path / "config.json").write_text(json.dumps(config))
    run_cli("run", "--quick", tmp_path / "config.json", "--out", tmp_path / "cli")
    cli = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert summary["verdicts"].keys() == cli["verdicts"].keys() == {"flow_rate"}
    ours, theirs = summary["verdicts"]["flow_rate"], cli["verdicts"]["flow_rate"]
    assert ours["status"] == theirs["status"] == "pass"
    assert ours["power"] == theirs["power"] and len(ours["power"]) > 0  # every mutant, rejected alike
    # The same numbers (the commands recorded differ only in the folder).
    as_text = json.dumps(ours["numbers"], sort_keys=True).replace(str(tmp_path / "py"), str(tmp_path / "cli"))
    assert as_text == json.dumps(theirs["numbers"], sort_keys=True)
    with pytest.raises(zl.InputError, match="claims"):
        zl.run_report(str(tmp_path / "bad"), config={"claims": ["no_such_claim"]}, program=str(BINARY))
