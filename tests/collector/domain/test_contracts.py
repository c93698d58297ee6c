from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fernwart.collector.domain.contracts import ContractError, load_contracts, parse_contracts
from fernwart.collector.domain.durations import Duration
from fernwart.collector.domain.flapping import FlapThresholds
from tests.collector.domain.conftest import utc

EXAMPLE = (Path(__file__).parent / "example_contract.yaml").read_text()
PLACE = "customers[0] (Muster GmbH).contract"


def test_issue_example_parses_verbatim() -> None:
    (customer,) = load_contracts(EXAMPLE).customers
    contract = customer.contract
    assert customer.name == "Muster GmbH" and contract.kind == "full" and contract.timezone == "Europe/Berlin"
    assert (
        contract.service_hours.holiday_country == "DE" and contract.service_hours.holiday_subdivision == "RP"
    )
    assert contract.availability.target == 99.5
    assert contract.availability.counts == ("host", "check:http-shop", "check:erp-db")
    assert (
        not contract.availability.warning_counts_as_down and not contract.availability.no_data_counts_as_down
        and not contract.availability.maintenance_counts_as_up
    )
    assert [level.after for level in contract.escalation] == [0.0, 0.5, 0.9]
    assert contract.escalation[1].contacts == ("second-level@provider.example",)
    assert contract.warn_before_breach == 0.8
    assert contract.report_to == ("it@muster.example",)
    patch, upgrade = contract.maintenance_windows
    assert patch.every is not None and str(patch.scope) == "all"
    assert (upgrade.starts_at, upgrade.ends_at, upgrade.sla_relevant) == (
        utc(2026, 12, 5, 17),
        utc(2026, 12, 6, 5),
        False,
    )


def test_priorities_from_the_matrix() -> None:
    contract = load_contracts(EXAMPLE).customer("Muster GmbH").contract
    p1 = contract.priority_for("high", "critical")
    assert p1.name == "P1" and p1.overrides_hours and p1.calendar.service_day_seconds == 86400
    assert p1.targets.response == Duration(0, 1800)
    p2 = contract.priority_for("normal", "critical")
    assert p2.name == "P2" and not p2.overrides_hours and p2.calendar is contract.service_hours
    assert contract.priority_for("low", "warning").resolution == Duration(10, 0)
    assert contract.priority_for("low", "unknown").name == "P3"  # no unknown column: treated as critical
    with pytest.raises(KeyError):
        contract.priority_for("urgent", "critical")


def test_criticality_of_hosts() -> None:
    customer = load_contracts(EXAMPLE).customers[0]
    assert customer.criticality_of("erp01") == "high"
    assert customer.criticality_of("web07") == "normal"
    assert customer.criticality_of("mail01") == "normal"  # default
    assert customer.covers_host("web07") and not customer.covers_host("mail01")


def mutate(old: str, new: str) -> str:
    assert old in EXAMPLE, old
    return EXAMPLE.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            mutate("warning: P2}, normal", "warning: P9}, normal"),
            f"{PLACE}.priorities.matrix.high.warning: P9 is not defined",
        ),
        (
            mutate("        P4: {response: 2d, resolution: 10d}\n", ""),
            f"{PLACE}.priorities.matrix.low.warning: P4 is not defined",
        ),
        (
            mutate("      escalation:", "        P5: {response: 1h, resolution: 2h}\n      escalation:"),
            f"{PLACE}.priorities.P5: defined but not used in the matrix",
        ),
        (
            mutate("low: {critical: P3, warning: P4}", "low: {critical: P3}"),
            f"{PLACE}.priorities.matrix.low.warning: missing",
        ),
        (
            mutate("timezone: Europe/Berlin", "timezone: Europe/Bonn"),
            f"{PLACE}.timezone: unknown timezone 'Europe/Bonn'",
        ),
        (
            mutate("holidays: DE-RP", "holidays: DE-XY"),
            f"{PLACE}.service_hours: unknown holiday region 'DE-XY'",
        ),
        (mutate("holidays: DE-RP", "holidays: QQ"), f"{PLACE}.service_hours: unknown holiday region 'QQ'"),
        (
            mutate("2026-12-06T06:00", "2026-12-04T06:00"),
            f"{PLACE}.maintenance_windows[1] (ERP upgrade): "
            "window ends (2026-12-04 06:00 CET) before it starts (2026-12-05 18:00 CET)",
        ),
        (
            mutate("resolution: 3d", "resolution: 3 days"),
            f"{PLACE}.priorities.P3.resolution: bad duration '3 days'",
        ),
        (mutate("kind: full", "kind: full\n      colour: red"), f"{PLACE}.colour: unknown key"),
        (mutate("kind: full", "kind: total"), f"{PLACE}.kind: expected one of full, inspection, got 'total'"),
        (mutate("target: 99.5", "target: 150"), f"{PLACE}.availability.target: expected a percentage"),
        (
            mutate("no_data: exclude", "no_data: ignore"),
            f"{PLACE}.availability.no_data: expected exclude or down",
        ),
        (
            mutate("no_data: exclude", "no_data: exclude\n        maintenance_counts_as: kept"),
            f"{PLACE}.availability.maintenance_counts_as: expected excluded or up",
        ),
        (
            mutate('"check:erp-db"', '"erp-db"'),
            f"{PLACE}.availability.counts[2]: expected 'host' or 'check:NAME'",
        ),
        (mutate("after: 90%", "after: 40%"), f"{PLACE}.escalation[2]: levels must ascend"),
        (mutate("after: 50%", "after: 50"), f"{PLACE}.escalation[1].after: expected a percentage"),
        (
            mutate("warn_before_breach: 80%", "warn_before_breach: 180%"),
            f"{PLACE}.warn_before_breach: bad percentage",
        ),
        (
            mutate('every: "sun 02:00-04:00"', 'every: "sun 02:00"'),
            f"{PLACE}.maintenance_windows[0] (patch night): bad recurrence",
        ),
        (
            mutate("criticality: high", "criticality: vital"),
            "customers[0] (Muster GmbH).hosts[0].criticality: expected one of high",
        ),
        (
            mutate('{match: "web*", criticality: normal}', "{criticality: normal}"),
            "customers[0] (Muster GmbH).hosts[1]: expected exactly one of name or match",
        ),
        (
            mutate("report_to: [it@muster.example]", "report_to: [it]"),
            f"{PLACE}.report_to[0]: expected an e-mail address",
        ),
        (
            mutate(
                "P1: {response: 30m, resolution: 4h, hours: 24x7}",
                "P1: {response: 30m, resolution: 4h, hours: 25x8}",
            ),
            f"{PLACE}.priorities.P1.hours: expected '24x7' or a mapping",
        ),
        (
            mutate("report_to: [it@muster.example]",
                   "report_to: [it@muster.example]\n      flapping: {low: 20, high: 10}"),
            f"{PLACE}.flapping: expected 0 < low < high <= 100",
        ),
        (
            mutate("report_to: [it@muster.example]",
                   "report_to: [it@muster.example]\n      flapping: {checks: [{check: x, lo: 1}]}"),
            f"{PLACE}.flapping: checks[0].lo: unknown key",
        ),
    ],
)
def test_bad_contracts_name_the_place(text: str, message: str) -> None:
    with pytest.raises(ContractError) as caught:
        load_contracts(text)
    assert any(line.startswith(message) for line in caught.value.problems), caught.value.problems


def test_all_problems_are_collected_in_one_error() -> None:
    text = mutate("kind: full", "kind: total").replace("warning: P2}, normal", "warning: P9}, normal")
    with pytest.raises(ContractError) as caught:
        load_contracts(text)
    assert len(caught.value.problems) == 2
    assert str(caught.value) == "\n".join(caught.value.problems)


def test_document_level_problems() -> None:
    with pytest.raises(ContractError, match="document: expected a mapping"):
        parse_contracts([1, 2])
    with pytest.raises(ContractError, match="customers: expected a non-empty list"):
        parse_contracts({"customers": []})
    with pytest.raises(ContractError, match="yaml: "):
        load_contracts("customers: [unclosed")
    twice = yaml.safe_load(EXAMPLE)
    twice["customers"].append(twice["customers"][0])
    with pytest.raises(
        ContractError, match=r"customers\[1\] \(Muster GmbH\).name: customer 'Muster GmbH' is defined twice"
    ):
        parse_contracts(twice)


def test_minimal_contract_uses_documented_defaults() -> None:
    minimal = {
        "customers": [
            {
                "name": "Mini",
                "contract": {
                    "kind": "inspection",
                    "timezone": "UTC",
                    "priorities": {
                        "matrix": {i: {"critical": "P1", "warning": "P1"} for i in ("high", "normal", "low")},
                        "P1": {"response": "1h", "resolution": "1d"},
                    },
                },
            }
        ]
    }
    contract = parse_contracts(minimal).customers[0].contract
    assert contract.service_hours.service_day_seconds == 86400
    assert contract.availability.counts == ("host",) and contract.availability.target is None
    assert (
        contract.warn_before_breach is None
        and contract.escalation == ()
        and contract.maintenance_windows == ()
    )
    assert contract.flapping.for_check("any") == FlapThresholds(5, 20)
