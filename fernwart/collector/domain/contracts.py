"""Parse and validate maintenance contracts (the YAML of `fernwart-collector apply`) into frozen values.

The shape (every key below is known; any other key is an error)::

    customers:
      - name: Muster GmbH
        contract:
          kind: full                      # full (Vollwartung) | inspection (preventive only)
          timezone: Europe/Berlin         # IANA name, required
          service_hours: {mon-fri: "08:00-18:00", holidays: DE-RP}    # default 24x7; see calendar.py
          availability: {target: 99.5, counts: [host, "check:http-shop"], warning_counts_as: up,
                         no_data: exclude,                           # down | exclude; UNKNOWN is down
                         maintenance_counts_as: excluded}            # excluded | up (the old rule)
          priorities:
            matrix: {high: {critical: P1, warning: P2}, normal: {...}, low: {...}}
            P1: {response: 30m, resolution: 4h, hours: 24x7}        # hours overrides service_hours
          escalation: [{level: 1, contact: a@x}, {level: 2, after: 50%, contact: [b@x, c@x]}]
          warn_before_breach: 80%
          maintenance_windows: [{name: patch night, every: "sun 02:00-04:00", scope: all}]  # windows.py
          report_to: [it@muster.example]
          flapping: {low: 5, high: 20, checks: [{check: "backup*", low: 10, high: 40}]}   # flapping.py
          approval: required              # new hosts wait as pending until approved; default: none
        hosts: [{name: erp01, criticality: high}, {match: "web*", criticality: normal}]

The matrix maps impact (host criticality: high, normal, low; all three required) times urgency (check
severity: critical and warning required, unknown optional) to a priority name; every name used there must
be defined and every defined priority used. Escalation levels ascend with non-decreasing `after` (default
0%). Problems are collected and raised together as one ContractError, one line each, naming the place:
``customers[0] (Muster GmbH).contract.priorities.matrix.high.critical: P9 is not defined``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import partial
from typing import Any, TypeVar

import yaml

from fernwart.collector.domain.auto_diagnosis import AutoDiagnosis, parse_rules
from fernwart.collector.domain.availability import AvailabilityRules
from fernwart.collector.domain.calendar import ServiceCalendar, load_zone
from fernwart.collector.domain.clocks import PriorityTargets
from fernwart.collector.domain.durations import Duration, parse_duration, parse_share
from fernwart.collector.domain.errors import SpecError
from fernwart.collector.domain.flapping import FlapRules
from fernwart.collector.domain.windows import MaintenanceWindow
from fernwart.protocol import HOST_CHECK

KINDS = ("full", "inspection")
APPROVALS = ("none", "required")
CRITICALITIES = ("high", "normal", "low")
URGENCIES = ("critical", "warning", "unknown")
REQUIRED_URGENCIES = ("critical", "warning")
DEFAULT_CRITICALITY = "normal"

_CUSTOMER_KEYS = {"name", "contract", "hosts"}
_CONTRACT_KEYS = {
    "kind",
    "timezone",
    "service_hours",
    "availability",
    "priorities",
    "escalation",
    "warn_before_breach",
    "maintenance_windows",
    "report_to",
    "flapping",
    "approval",
    "on_ticket",
}
_AVAILABILITY_KEYS = {"target", "counts", "warning_counts_as", "no_data", "maintenance_counts_as"}
_PRIORITY_KEYS = {"response", "resolution", "hours"}
_ESCALATION_KEYS = {"level", "after", "contact"}
_HOST_KEYS = {"name", "match", "criticality"}

T = TypeVar("T")


class ContractError(ValueError):
    """Refuse a contract; `problems` holds one "place: message" line per problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Priority:
    """One priority: its targets and the calendar they are counted in (the override, else the contract's)."""

    name: str
    response: Duration
    resolution: Duration
    calendar: ServiceCalendar
    overrides_hours: bool = False

    @property
    def targets(self) -> PriorityTargets:
        """Return the targets in the form `clock.ticket_clocks` takes."""
        return PriorityTargets(self.response, self.resolution)


@dataclass(frozen=True)
class EscalationLevel:
    """A support level reached once `after` (share 0..1) of the resolution time has passed."""

    level: int
    after: float
    contacts: tuple[str, ...]


@dataclass(frozen=True)
class HostRule:
    """Criticality for a host by exact `name` or by `match` glob (exactly one of both is set)."""

    criticality: str
    name: str | None = None
    match: str | None = None


@dataclass(frozen=True)
class Contract:
    """A customer's maintenance contract."""

    kind: str
    timezone: str
    service_hours: ServiceCalendar
    availability: AvailabilityRules
    matrix: tuple[tuple[str, str, str], ...]
    priorities: tuple[Priority, ...]
    escalation: tuple[EscalationLevel, ...]
    warn_before_breach: float | None
    maintenance_windows: tuple[MaintenanceWindow, ...]
    report_to: tuple[str, ...]
    flapping: FlapRules = FlapRules()
    approval_required: bool = False  # a newly enrolled host waits as pending until a technician approves
    on_ticket: tuple[AutoDiagnosis, ...] = ()

    def priority_for(self, impact: str, urgency: str) -> Priority:
        """Return the priority for impact (high|normal|low) and urgency (critical|warning|unknown).

        An urgency the matrix leaves out (only "unknown" may be) is treated as "critical"; raise KeyError for
        an impact or urgency outside the known words.
        """
        if impact not in CRITICALITIES or urgency not in URGENCIES:
            raise KeyError(f"no priority for impact {impact!r} and urgency {urgency!r}")
        cells = {(i, u): p for i, u, p in self.matrix}
        name = cells.get((impact, urgency)) or cells[(impact, "critical")]
        return next(p for p in self.priorities if p.name == name)

    def escalation_shares(self) -> list[tuple[int, float]]:
        """Return (level, share) pairs for `clock.escalation_level`."""
        return [(e.level, e.after) for e in self.escalation]


@dataclass(frozen=True)
class CustomerContract:
    """A customer, its contract and the criticality rules for its hosts."""

    name: str
    contract: Contract
    hosts: tuple[HostRule, ...]

    def criticality_of(self, host_name: str) -> str:
        """Return the host's criticality: an exact `name` rule wins, then the first matching `match` glob.

        A host no rule names is "normal".
        """
        for rule in self.hosts:
            if rule.name == host_name:
                return rule.criticality
        for rule in self.hosts:
            if rule.match is not None and fnmatchcase(host_name, rule.match):
                return rule.criticality
        return DEFAULT_CRITICALITY

    def covers_host(self, host_name: str) -> bool:
        """Return True when a host rule names or matches `host_name`."""
        return any(
            r.name == host_name or (r.match is not None and fnmatchcase(host_name, r.match))
            for r in self.hosts
        )


@dataclass(frozen=True)
class ContractSet:
    """All customers of one contract file."""

    customers: tuple[CustomerContract, ...]

    def customer(self, name: str) -> CustomerContract:
        """Return the customer called `name`; raise KeyError when there is none."""
        for customer in self.customers:
            if customer.name == name:
                return customer
        raise KeyError(name)


def load_contracts(text: str) -> ContractSet:
    """Return the validated contracts in YAML `text`; raise ContractError listing every problem found."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ContractError([f"yaml: {exc}".replace("\n", " ")]) from None
    return parse_contracts(document)


def parse_contracts(document: object) -> ContractSet:
    """Return the validated contracts in an already loaded document; raise ContractError on any problem."""
    problems = _Problems()
    if not isinstance(document, Mapping):
        raise ContractError(["document: expected a mapping with the key 'customers'"])
    problems.unknown_keys("document", document, {"customers"})
    raw = document.get("customers")
    if not isinstance(raw, list) or not raw:
        problems.add("customers", "expected a non-empty list of customers")
        raw = []
    customers: list[CustomerContract] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        name = item.get("name") if isinstance(item, Mapping) else None
        place = f"customers[{index}]" + (f" ({name})" if isinstance(name, str) else "")
        customer = _customer(item, place, problems)
        if customer is not None:
            if customer.name in seen:
                problems.add(f"{place}.name", f"customer {customer.name!r} is defined twice")
            seen.add(customer.name)
            customers.append(customer)
    problems.raise_if_any()
    return ContractSet(tuple(customers))


class _Problems:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, place: str, message: str) -> None:
        self.lines.append(f"{place}: {message}")

    def attempt(self, place: str, build: Callable[[], T]) -> T | None:
        try:
            return build()
        except (SpecError, ValueError) as exc:
            self.add(place, str(exc))
            return None

    def unknown_keys(self, place: str, mapping: Mapping[Any, Any], known: set[str]) -> None:
        for key in mapping:
            if key not in known:
                self.add(f"{place}.{key}", f"unknown key; expected one of {', '.join(sorted(known))}")

    def raise_if_any(self) -> None:
        if self.lines:
            raise ContractError(self.lines)


def _mapping(value: object, place: str, problems: _Problems, what: str) -> Mapping[Any, Any] | None:
    if isinstance(value, Mapping):
        return value
    problems.add(place, f"expected {what}, got {value!r}")
    return None


def _customer(item: object, place: str, problems: _Problems) -> CustomerContract | None:
    spec = _mapping(item, place, problems, "a mapping with name, contract and hosts")
    if spec is None:
        return None
    problems.unknown_keys(place, spec, _CUSTOMER_KEYS)
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add(f"{place}.name", "a customer needs a name")
    contract = _contract(spec.get("contract"), f"{place}.contract", problems)
    hosts = _hosts(spec.get("hosts", []), f"{place}.hosts", problems)
    if contract is None or not isinstance(name, str) or not name.strip():
        return None
    return CustomerContract(name.strip(), contract, hosts)


def _contract(value: object, place: str, problems: _Problems) -> Contract | None:
    spec = _mapping(value, place, problems, "a contract mapping")
    if spec is None:
        return None
    before = len(problems.lines)
    problems.unknown_keys(place, spec, _CONTRACT_KEYS)
    kind = spec.get("kind")
    if kind not in KINDS:
        problems.add(f"{place}.kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")
    timezone = spec.get("timezone")
    zone = problems.attempt(f"{place}.timezone", lambda: load_zone(timezone))
    zone_name = str(timezone) if zone is not None else "UTC"
    hours = problems.attempt(
        f"{place}.service_hours", lambda: ServiceCalendar.parse(spec.get("service_hours", "24x7"), zone_name)
    )
    availability = _availability(spec.get("availability", {}), f"{place}.availability", problems)
    matrix, priorities = _priorities(
        spec.get("priorities"), f"{place}.priorities", zone_name, hours, problems
    )
    escalation = _escalation(spec.get("escalation", []), f"{place}.escalation", problems)
    warn = None
    if "warn_before_breach" in spec:
        warn = problems.attempt(
            f"{place}.warn_before_breach", lambda: parse_share(spec["warn_before_breach"])
        )
    windows = _windows(
        spec.get("maintenance_windows", []), f"{place}.maintenance_windows", zone_name, problems
    )
    report_to = _addresses(spec.get("report_to", []), f"{place}.report_to", problems)
    flapping = problems.attempt(f"{place}.flapping", partial(FlapRules.parse, spec.get("flapping", {})))
    approval = spec.get("approval", "none")
    if approval not in APPROVALS:
        problems.add(f"{place}.approval", f"expected one of {', '.join(APPROVALS)}, got {approval!r}")
    on_ticket = problems.attempt(f"{place}.on_ticket", partial(parse_rules, spec.get("on_ticket", [])))
    if len(problems.lines) > before or hours is None or availability is None or flapping is None:
        return None
    return Contract(
        str(kind), zone_name, hours, availability, matrix, priorities, escalation, warn, windows, report_to,
        flapping, approval == "required", on_ticket or (),
    )


def _availability(value: object, place: str, problems: _Problems) -> AvailabilityRules | None:
    spec = _mapping(value, place, problems, "a mapping with target, counts, warning_counts_as, no_data")
    if spec is None:
        return None
    problems.unknown_keys(place, spec, _AVAILABILITY_KEYS)
    target = spec.get("target")
    if isinstance(target, str):
        share = problems.attempt(f"{place}.target", lambda: parse_share(target))
        target = None if share is None else share * 100
    elif target is not None and (
        isinstance(target, bool) or not isinstance(target, int | float) or not 0 <= target <= 100
    ):
        problems.add(f"{place}.target", f"expected a percentage 0..100 like 99.5, got {target!r}")
        target = None
    counts = spec.get("counts", [HOST_CHECK])
    if not isinstance(counts, list) or not counts:
        problems.add(f"{place}.counts", f"expected a list like [host, 'check:NAME'], got {counts!r}")
        counts = [HOST_CHECK]
    for index, item in enumerate(counts):
        is_check = isinstance(item, str) and item.startswith("check:") and bool(item[6:].strip())
        if item != HOST_CHECK and not is_check:
            problems.add(f"{place}.counts[{index}]", f"expected 'host' or 'check:NAME', got {item!r}")
    warning = spec.get("warning_counts_as", "up")
    if warning not in ("up", "down"):
        problems.add(f"{place}.warning_counts_as", f"expected up or down, got {warning!r}")
    no_data = spec.get("no_data", "exclude")
    if no_data not in ("exclude", "down"):
        problems.add(f"{place}.no_data", f"expected exclude or down, got {no_data!r}")
    maintenance = spec.get("maintenance_counts_as", "excluded")
    if maintenance not in ("excluded", "up"):
        problems.add(f"{place}.maintenance_counts_as", f"expected excluded or up, got {maintenance!r}")
    return AvailabilityRules(
        None if target is None else float(target),
        tuple(str(c) for c in counts),
        warning == "down",
        no_data == "down",
        maintenance == "up",
    )


def _priorities(
    value: object, place: str, zone_name: str, hours: ServiceCalendar | None, problems: _Problems
) -> tuple[tuple[tuple[str, str, str], ...], tuple[Priority, ...]]:
    spec = _mapping(value, place, problems, "a mapping with matrix and priority names like P1")
    if spec is None:
        return (), ()
    defined: dict[str, Priority] = {}
    for name, entry in spec.items():
        if name == "matrix":
            continue
        priority = _priority(str(name), entry, f"{place}.{name}", zone_name, hours, problems)
        if priority is not None:
            defined[str(name)] = priority
    matrix_spec = _mapping(
        spec.get("matrix"), f"{place}.matrix", problems, "a mapping impact -> {urgency: priority}"
    )
    cells: list[tuple[str, str, str]] = []
    if matrix_spec is None:
        return (), tuple(defined.values())
    for impact in CRITICALITIES:
        if impact not in matrix_spec:
            problems.add(f"{place}.matrix.{impact}", "missing row; the matrix needs high, normal and low")
    for impact, row in matrix_spec.items():
        row_place = f"{place}.matrix.{impact}"
        if impact not in CRITICALITIES:
            problems.add(row_place, f"unknown impact; expected one of {', '.join(CRITICALITIES)}")
            continue
        row_spec = _mapping(row, row_place, problems, "a mapping urgency -> priority")
        if row_spec is None:
            continue
        for urgency in REQUIRED_URGENCIES:
            if urgency not in row_spec:
                problems.add(f"{row_place}.{urgency}", "missing; every row needs critical and warning")
        for urgency, name in row_spec.items():
            if urgency not in URGENCIES:
                problems.add(
                    f"{row_place}.{urgency}", f"unknown urgency; expected one of {', '.join(URGENCIES)}"
                )
            elif not isinstance(name, str) or name == "matrix" or name not in spec:
                problems.add(f"{row_place}.{urgency}", f"{name} is not defined")
            else:
                cells.append((str(impact), str(urgency), name))
    used = {name for _, _, name in cells}
    for name in spec:
        if name != "matrix" and name not in used:
            problems.add(f"{place}.{name}", "defined but not used in the matrix")
    return tuple(cells), tuple(defined.values())


def _priority(
    name: str, value: object, place: str, zone_name: str, hours: ServiceCalendar | None, problems: _Problems
) -> Priority | None:
    spec = _mapping(value, place, problems, "a mapping with response, resolution and optional hours")
    if spec is None:
        return None
    problems.unknown_keys(place, spec, _PRIORITY_KEYS)
    durations: list[Duration | None] = []
    for key in ("response", "resolution"):
        if key not in spec:
            problems.add(f"{place}.{key}", "missing")
            durations.append(None)
        else:
            durations.append(problems.attempt(f"{place}.{key}", partial(parse_duration, spec[key])))
    calendar = hours
    if "hours" in spec:
        calendar = problems.attempt(f"{place}.hours", lambda: ServiceCalendar.parse(spec["hours"], zone_name))
    response, resolution = durations
    if response is None or resolution is None or calendar is None:
        return None
    return Priority(name, response, resolution, calendar, "hours" in spec)


def _escalation(value: object, place: str, problems: _Problems) -> tuple[EscalationLevel, ...]:
    if not isinstance(value, list):
        problems.add(place, f"expected a list of levels, got {value!r}")
        return ()
    levels: list[EscalationLevel] = []
    for index, item in enumerate(value):
        item_place = f"{place}[{index}]"
        spec = _mapping(item, item_place, problems, "a mapping with level, after and contact")
        if spec is None:
            continue
        problems.unknown_keys(item_place, spec, _ESCALATION_KEYS)
        level = spec.get("level")
        if isinstance(level, bool) or not isinstance(level, int) or level < 1:
            problems.add(f"{item_place}.level", f"expected a whole number from 1, got {level!r}")
            continue
        after = problems.attempt(f"{item_place}.after", partial(parse_share, spec.get("after", "0%")))
        contacts = _addresses(spec.get("contact"), f"{item_place}.contact", problems, required=True)
        if after is None:
            continue
        if levels and (level <= levels[-1].level or after < levels[-1].after):
            problems.add(item_place, "levels must ascend, each 'after' no smaller than the one before")
            continue
        levels.append(EscalationLevel(level, after, contacts))
    return tuple(levels)


def _windows(value: object, place: str, zone_name: str, problems: _Problems) -> tuple[MaintenanceWindow, ...]:
    if not isinstance(value, list):
        problems.add(place, f"expected a list of windows, got {value!r}")
        return ()
    windows: list[MaintenanceWindow] = []
    for index, item in enumerate(value):
        name = item.get("name") if isinstance(item, Mapping) else None
        item_place = f"{place}[{index}]" + (f" ({name})" if isinstance(name, str) else "")
        window = problems.attempt(item_place, partial(MaintenanceWindow.parse, item, zone_name))
        if window is not None:
            windows.append(window)
    return tuple(windows)


def _hosts(value: object, place: str, problems: _Problems) -> tuple[HostRule, ...]:
    if not isinstance(value, list):
        problems.add(place, f"expected a list of hosts, got {value!r}")
        return ()
    rules: list[HostRule] = []
    for index, item in enumerate(value):
        item_place = f"{place}[{index}]"
        spec = _mapping(item, item_place, problems, "a mapping with name or match, and criticality")
        if spec is None:
            continue
        problems.unknown_keys(item_place, spec, _HOST_KEYS)
        name, match = spec.get("name"), spec.get("match")
        criticality = spec.get("criticality", DEFAULT_CRITICALITY)
        if (name is None) == (match is None) or not isinstance(name or match, str):
            problems.add(item_place, "expected exactly one of name or match, as a string")
        elif criticality not in CRITICALITIES:
            problems.add(
                f"{item_place}.criticality",
                f"expected one of {', '.join(CRITICALITIES)}, got {criticality!r}",
            )
        else:
            rules.append(HostRule(str(criticality), name, match))
    return tuple(rules)


def _addresses(value: object, place: str, problems: _Problems, required: bool = False) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if value is None and not required:
        return ()
    if not isinstance(items, list) or (required and not items):
        problems.add(place, f"expected an address or a list of addresses, got {value!r}")
        return ()
    for index, item in enumerate(items):
        is_url = isinstance(item, str) and item.startswith(("http://", "https://"))
        if not isinstance(item, str) or ("@" not in item.strip(" @") and not is_url):
            problems.add(f"{place}[{index}]", f"expected an e-mail address or webhook URL, got {item!r}")
    return tuple(str(i).strip() for i in items)
