"""The cost estimator: the 2018 slides' example, today's prices, billing rules."""
from __future__ import annotations

import pytest

from gluelab import cost
from gluelab.cli import main


def test_slides_example_reproduces_every_correct_figure_within_rounding():
    example = cost.slides_example()
    figures = {(l.service, l.item): l.usd for l in example.breakdown.lines}
    for key in [("API Gateway", "requests"), ("API Gateway", "cache 0.5 GB"),
                ("API Gateway", "data transfer out"), ("Lambda", "requests"),
                ("DynamoDB", "storage"), ("DynamoDB", "read capacity"),
                ("DynamoDB", "write capacity"), ("DynamoDB", "data transfer out")]:
        assert figures[key] == pytest.approx(cost.SLIDES_FIGURES[key], abs=0.005), key
    assert example.breakdown.subtotal("API Gateway") == pytest.approx(20.219, abs=0.001)
    assert example.breakdown.subtotal("DynamoDB") == pytest.approx(10.94, abs=0.005)


def test_slides_lambda_compute_error_is_found_and_explained():
    example = cost.slides_example()
    compute = next(l for l in example.breakdown.lines if l.item == "compute")
    assert compute.usd == pytest.approx(11.002, abs=0.001)  # slides print 10.964
    assert example.breakdown.subtotal("Lambda") == pytest.approx(11.304, abs=0.001)  # not 11.264
    assert example.breakdown.total == pytest.approx(67.460, abs=0.001)  # not 67.423
    text = str(example)
    assert "3,75 USD" in text and "3.50 USD per million" in text
    assert "give 11.002 USD, not 10.964" in text
    assert "\n!Lambda       compute" in text  # the wrong line is flagged in the table


def test_cli_prints_the_slides_example_with_notes(capsys):
    assert main(["cost", "--slides-example"]) == 0
    out = capsys.readouterr().out
    assert "Where the slides' arithmetic is off" in out and "67.423" in out and "67.460" in out


def test_lambda_bills_in_1_ms_steps_today_and_100_ms_in_2018():
    assert cost.billed_ms(12.34, cost.PRICES_2025) == 13
    assert cost.billed_ms(876, cost.PRICES_2018_SLIDES) == 900


def test_free_tier_switch_changes_lambda_and_step_functions():
    usage = cost.Usage(requests_per_day=1000, days=30, lambda_duration_ms=250, lambda_memory_mb=256,
                       transitions_per_request=10)
    paid = cost.estimate(usage, free_tier=False)
    free = cost.estimate(usage, free_tier=True)
    # 30,000 invocations x 0.25 s x 0.25 GB = 1,875 GB-s; 300,000 transitions
    assert paid.subtotal("Lambda") == pytest.approx(1875 * 0.0000166667 + 0.03 * 0.20)
    assert free.subtotal("Lambda") == 0
    assert paid.subtotal("Step Functions") == pytest.approx(300 * 0.025)
    assert free.subtotal("Step Functions") == pytest.approx(296 * 0.025)


def test_on_demand_and_provisioned_dynamodb():
    on_demand = cost.estimate(cost.Usage(requests_per_day=10_000, days=30, dynamodb_reads_per_request=2,
                                         dynamodb_writes_per_request=1, dynamodb_storage_gb=30))
    assert on_demand.subtotal("DynamoDB") == pytest.approx(0.6 * 0.125 + 0.3 * 0.625 + 30 * 0.25)
    provisioned = cost.estimate(cost.Usage(requests_per_day=1, days=30, dynamodb_mode="provisioned",
                                           dynamodb_rcu=5, dynamodb_wcu=5))
    assert provisioned.subtotal("DynamoDB") == pytest.approx(5 * 720 * 0.00013 + 5 * 720 * 0.00065)
    with pytest.raises(ValueError, match="no DynamoDB on-demand prices"):
        cost.estimate(cost.Usage(requests_per_day=1), cost.PRICES_2018_SLIDES)
    with pytest.raises(ValueError, match="choose one of"):
        cost.estimate(cost.Usage(requests_per_day=1, api_cache_gb=2))


def test_estimator_widget_recomputes_when_an_input_changes():
    widget = cost.estimator_widget()
    controls, panel = widget.children
    _, output = panel.children
    assert "20.220" in output.value  # the slides' API Gateway subtotal with the default inputs
    requests = next(c for c in controls.children if c.description == "requests/day")
    requests.value = 0
    assert "14.880" in output.value and "5.275" not in output.value


def test_estimator_widget_starts_at_the_slides_month_and_explains_the_gap_to_their_total():
    controls, panel = cost.estimator_widget().children
    note, output = panel.children
    # The slides' month: their fixed costs too, and the total the note quotes.
    assert "ElasticSearch" in output.value and "other services" in output.value
    total = cost.estimate(cost.SLIDES_USAGE, cost.PRICES_2018_SLIDES).total
    assert f"{total:.3f}" in output.value
    assert f"{total:.2f} USD here against their 67.42" in note.value
    # The gap the note gives is the whole gap: Lambda billed at 0.9 s, DynamoDB storage charged.
    lines = {(line.service, line.item): line.usd
             for line in cost.estimate(cost.SLIDES_USAGE, cost.PRICES_2018_SLIDES).lines}
    computed = cost.slides_example().breakdown.lines
    explained = (lines[("Lambda", "compute")] - next(line.usd for line in computed
                                                      if line.item == "compute")
                 + lines[("DynamoDB", "storage")])
    assert abs(total - explained - cost.slides_example().breakdown.total) < 0.001


def test_estimator_widget_labels_are_wide_enough_to_read():
    controls, _ = cost.estimator_widget().children
    for control in controls.children:  # about 7 px a character at the notebook's font size
        assert int(control.style.description_width.rstrip("px")) >= 7 * len(control.description)
