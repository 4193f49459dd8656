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


def global_minimum_run(**changes):
    """A flow run with a = 1 that reached T* within every tolerance (a = 1: rank_one is the rule)."""
    run = {"method": "flow", "mixed_second_layer": False, "completed": True, "sharpness": 3.0 * (1 + 1e-9),
           "sharpness_star": 3.0, "grad_norm": 1e-11, "dist_R_opt": 1e-9, "rank_one_ratio": 1e-8,
           "preactivation_norm": 2.0, "lambda_min": 0.5, "data_norm": 1.5}
    run.update(changes)
    return run


def expected_global_minimum_rules(runs, search, t):
    """An independent statement of the run rules of docs/report.md, claim 1 (a = 1 runs, searches)."""
    held = {"runs_completed": bool(runs) and all(r["completed"] for r in runs)}
    done = [r for r in runs if r["completed"]]
    held["optimal_value"] = all(abs(r["sharpness"] - r["sharpness_star"]) / abs(r["sharpness_star"])
                                <= t["relative_tolerance"] for r in done)
    held["stationary"] = all(r["grad_norm"] < 10 * t["until_gradient"] if r["method"] == "flow"
                             else r["grad_norm"] <= t["lbfgs_gradient"] * abs(r["sharpness_star"]) for r in done)
    held["rank_one"] = all(r["rank_one_ratio"] <= t["rank_tolerance"] + t["safety_factor"] * r["data_norm"]
                           * r["grad_norm"] / r["lambda_min"] / r["preactivation_norm"] for r in done)
    held["optimal_point"] = True
    converged = [p for p in search if p["converged"]]
    held["search_converged"] = not search or (len(converged) >= 1 and len(converged) >= 0.5 * len(search))
    held["every_stationary_point_global"] = all(
        abs(p["sharpness"] - p["sharpness_star"]) / abs(p["sharpness_star"]) <= t["relative_tolerance"]
        and p["negative_eigenvalues"] == 0 and p["zero_eigenvalues"] == 0 for p in converged)
    held["search_population_tested"] = True
    return held


def test_global_minimum_rule_against_its_statement():
    t = {"relative_tolerance": 1e-6, "rank_tolerance": 1e-6, "until_gradient": 1e-9, "lbfgs_gradient": 1e-6,
         "safety_factor": 2.0}
    saddle = {"converged": True, "sharpness": 3.5, "sharpness_star": 3.0, "negative_eigenvalues": 1,
              "zero_eigenvalues": 0}
    minimum = dict(saddle, sharpness=3.0, negative_eigenvalues=0)
    cases = [([global_minimum_run()], [minimum]),
             ([global_minimum_run(), global_minimum_run(sharpness=3.1)], []),          # optimal_value fails
             ([global_minimum_run(grad_norm=1e-7)], []),                               # stationary (and rank)
             ([global_minimum_run(rank_one_ratio=0.5)], [minimum]),                    # rank_one fails
             ([global_minimum_run(completed=False)], []),                              # runs_completed fails
             ([global_minimum_run(method="lbfgs", grad_norm=1e-5)], []),               # L-BFGS: > 1e-6 |T*|
             ([global_minimum_run()], [minimum, saddle]),                              # a saddle was found
             ([global_minimum_run()], [dict(minimum, converged=False)] * 3)]           # search did not converge
    statuses = []
    for runs, search in cases:
        decision = zl.decide_global_minimum(runs, search=search)
        got = {r["rule"]: r["held"] for r in decision["rules"]}
        assert got == expected_global_minimum_rules(runs, search, t), (runs, search)
        statuses.append(decision["status"])
    assert statuses == ["pass", "fail", "fail", "fail", "fail", "fail", "fail", "inconclusive"]
    assert zl.decide_global_minimum([])["status"] == "fail"  # nothing tested
    # The thresholds are the arguments': a 1e-6 gap passes only with a looser tolerance.
    near = [global_minimum_run(sharpness=3.0 * (1 + 1e-5))]
    assert zl.decide_global_minimum(near)["status"] == "fail"
    assert zl.decide_global_minimum(near, relative_tolerance=1e-4)["status"] == "pass"
    # A population member whose own search failed leaves its family untested.
    population = [{"family": "figure1", "starts": 4, "converged": 4}, {"family": "gaussian", "starts": 4,
                                                                       "converged": 0}]
    assert zl.decide_global_minimum([global_minimum_run()], population=population)["status"] == "inconclusive"
    with pytest.raises(zl.InputError, match="'method' is 'newton'; expected 'flow' or 'lbfgs'"):
        zl.decide_global_minimum([global_minimum_run(method="newton")])


def tracking(**changes):
    evidence = {"bias_order": 1.0, "bias_order_ci_low": 0.9, "bias_order_ci_high": 1.1, "coefficient": 0.0625,
                "coefficient_ci_low": 0.0615, "coefficient_ci_high": 0.0635, "reference_coefficient": 0.0625,
                "family": "figure1"}
    evidence.update(changes)
    return evidence


def expected_tracking_rules(e, lo=0.5, hi=2.0, tol=0.1):
    """docs/report.md, claim 3: (held, kind) of each rule."""
    have = lambda *keys: all(e.get(k) is not None for k in keys)
    ref = e["reference_coefficient"]
    interval = have("bias_order", "bias_order_ci_low", "bias_order_ci_high")
    inside = interval and lo <= e["bias_order_ci_low"] and e["bias_order_ci_high"] <= hi
    outside = interval and (e["bias_order_ci_high"] < lo or e["bias_order_ci_low"] > hi)
    fitted = have("coefficient", "coefficient_ci_low", "coefficient_ci_high")
    return {"bias_order_near_one": (not outside, "evidence"),
            "bias_order_resolved": (inside or outside, "coverage"),
            "coefficient_matches": (fitted and e["coefficient_ci_low"] <= ref <= e["coefficient_ci_high"], "evidence"),
            "coefficient_resolved": (fitted and e["coefficient_ci_low"] > (1 - tol) * ref
                                     and e["coefficient_ci_high"] < (1 + tol) * ref, "coverage")}


def status_of(rules):
    if any(not held for held, kind in rules.values() if kind == "evidence"):
        return "fail"
    return "pass" if all(held for held, _ in rules.values()) else "inconclusive"


def test_sgd_tracks_flow_rule_against_its_statement():
    cases = [tracking(), tracking(bias_order_ci_low=0.3), tracking(bias_order_ci_high=2.5),  # straddle an end
             tracking(bias_order=0.2, bias_order_ci_low=0.1, bias_order_ci_high=0.3),          # wholly outside
             tracking(coefficient_ci_low=0.064, coefficient_ci_high=0.066),  # misses the reference
             tracking(coefficient_ci_low=0.05, coefficient_ci_high=0.07),    # contains it, unresolved
             tracking(coefficient=None, coefficient_ci_low=None, coefficient_ci_high=None),
             tracking(bias_order_ci_low=None, bias_order_ci_high=None)]
    statuses = []
    for e in cases:
        decision = zl.decide_sgd_tracks_flow(e)
        got = {r["rule"]: (r["held"], r["kind"]) for r in decision["rules"]}
        expected = expected_tracking_rules(e)
        assert got == expected, e
        assert decision["status"] == status_of(expected)
        statuses.append(decision["status"])
    assert statuses == ["pass", "inconclusive", "inconclusive", "fail", "fail", "inconclusive", "fail",
                        "inconclusive"]
    assert zl.decide_sgd_tracks_flow(tracking(bias_order_ci_low=0.3), min_bias_order=0.2)["status"] == "pass"
    # The population: a decidable member that fails fails it; too few decidable ones leave it open.
    wide = tracking(coefficient_ci_low=0.05, coefficient_ci_high=0.075)  # not decidable (width > tol ref)
    assert zl.decide_sgd_tracks_flow_population([tracking(), tracking()])["status"] == "pass"
    off = tracking(coefficient_ci_low=0.0640, coefficient_ci_high=0.0650)
    assert zl.decide_sgd_tracks_flow_population([tracking(), off])["status"] == "fail"
    assert zl.decide_sgd_tracks_flow_population([tracking(), wide, wide])["status"] == "inconclusive"
    with pytest.raises(zl.InputError, match="unknown key 'order'"):
        zl.decide_sgd_tracks_flow({"order": 1.0})


def interpolator_member(**changes):
    member = {"data_seed": 1, "completed": True, "w": [1.0, 0.0, -2.0, 1e-6], "sharpness": 4.0,
              "w_star": [1.0, 0.0, -2.0, 0.0], "certified_support": [0, 2], "sharpness_star": 4.0}
    member.update(changes)
    return member


def expected_interpolator_rules(members, rdt=1e-3, sgt=1e-4, st=1e-3):
    import numpy as np
    held = {"members_completed": bool(members), "near_interpolator": True, "sharpness_gap": True,
            "support_recovered": True}
    for m in members:
        if not m["completed"]:
            held["members_completed"] = False
            continue
        w, ws = np.array(m["w"]), np.array(m["w_star"])
        held["near_interpolator"] &= bool(np.linalg.norm(w - ws) / np.linalg.norm(ws) <= rdt)
        held["sharpness_gap"] &= bool(abs(m["sharpness"] - m["sharpness_star"]) <= sgt * abs(m["sharpness_star"]))
        support = [k for k in range(len(w)) if abs(w[k]) > st * np.abs(w).max()]
        held["support_recovered"] &= support == m["certified_support"]
    return held


def test_diagonal_sparse_interpolator_rule_against_its_statement():
    cases = [[interpolator_member()],
             [interpolator_member(), interpolator_member(w=[1.0, 0.01, -2.0, 0.0])],   # near, support fail
             [interpolator_member(sharpness=4.01)],
             [interpolator_member(completed=False)],
             [interpolator_member(w=[1.0, 0.0, -1.9, 0.0])],
             []]
    for members in cases:
        decision = zl.decide_diagonal_sparse_interpolator(members)
        got = {r["rule"]: r["held"] for r in decision["rules"]}
        assert got == expected_interpolator_rules(members), members
        assert decision["status"] == ("pass" if all(got.values()) else "fail")
    loose = [interpolator_member(w=[1.0, 0.01, -2.0, 0.0])]
    assert zl.decide_diagonal_sparse_interpolator(loose, support_threshold=0.01,
                                                  relative_distance_tolerance=0.01)["status"] == "pass"
