"""Program impact reports: small cells are suppressed, and so is any cell a row total would
reveal; the figures are right; CSV and SVG read back; only admins and auditors get them."""

from __future__ import annotations

import csv
import io
import itertools
import random
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from api.runtime import Runtime
from cityid.clock import Clock, FixedClock
from cityid.db import unit_of_work
from enrollment.schemas import Address
from oversight import impact
from oversight.impact import DistrictMapInvalid, load_districts, suppress_row, window_before
from privacy.audit import Actor
from tests.factories import audit_trail
from tests.redemption.helpers import Headers, make_benefit, make_partner
from tests.redemption.helpers import make_cardholder as make_shared_cardholder

SEPTEMBER = datetime(2026, 9, 10, 15, 0, tzinfo=UTC)
OCTOBER = datetime(2026, 10, 12, 15, 0, tzinfo=UTC)
NOVEMBER = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
CLERK = Actor("test-clerk", "clerk")
SUPERVISOR = Actor("test-supervisor", "supervisor")
BROOKLYN = Address(line1="1 Court Street", city="Brooklyn", state="NY", postal_code="11201")
MANHATTAN = Address(line1="1 Broadway", city="New York", state="NY", postal_code="10004")
S = None  # a withheld cell, in the tables below


# --- suppression, one row at a time -----------------------------------------------------------


def shown(cells: list[int], total: int, k: int = 10,
          hidden: tuple[int, ...] = ()) -> tuple[list[int | None], int | None]:
    """What a reader sees of the row: withheld cells (and hidden ones) as None."""
    result = suppress_row(cells, total, k=k, hidden=hidden)
    return ([None if w else v for v, w in zip(cells, result.cells, strict=True)],
            None if result.total else total)


@pytest.mark.parametrize(("cells", "total", "k", "hidden", "expected"), [
    pytest.param([20, 15, 30], 65, 10, (), ([20, 15, 30], 65), id="nothing-small"),
    pytest.param([12, 3, 20, 15], 50, 10, (), ([S, S, 20, 15], 50),
                 id="one-small-cell-and-the-next-smallest"),
    pytest.param([12, 3, 4, 20], 39, 10, (), ([12, S, S, 20], 39), id="two-small-cells-only"),
    pytest.param([9, 9, 9], 27, 10, (), ([S, S, S], 27), id="all-small-total-shown"),
    pytest.param([5, 3], 8, 10, (), ([S, S], S), id="small-total-withheld"),
    pytest.param([9], 9, 10, (), ([S], S), id="single-small-cell"),
    pytest.param([15], 15, 10, (), ([15], 15), id="single-cell"),
    pytest.param([25, 0, 30], 55, 10, (), ([S, S, 30], 55), id="a-zero-is-under-k"),
    pytest.param([25, 0, 0], 25, 10, (), ([S, S, S], 25), id="withheld-cells-must-sum-to-zero"),
    pytest.param([3, 10, 10], 23, 10, (), ([S, S, 10], 23), id="tie-takes-the-leftmost"),
    pytest.param([40, 30, 3], 73, 10, (), ([40, S, S], 73), id="smallest-not-leftmost"),
    pytest.param([4, 6, 7, 5], 22, 5, (), ([S, 6, 7, S], 22), id="k-five"),
    pytest.param([4, 6, 7], 17, 7, (), ([S, S, 7], 17), id="k-seven"),
    pytest.param([0, 5], 5, 1, (), ([S, S], 5), id="k-one-still-hides-zero"),
    pytest.param([12, 3], 15, 10, (1,), ([S, S], 15), id="hidden-cell-follows-from-total"),
    pytest.param([3, 50], 53, 10, (1,), ([S, S], 53), id="hidden-large-cell-small-shown"),
    pytest.param([20, 30], 50, 10, (1,), ([20, S], 50), id="hidden-large-cell-may-follow"),
    pytest.param([20, 0], 20, 10, (1,), ([S, S], 20), id="hidden-zero-follows-from-total"),
])
def test_suppress_row(cells: list[int], total: int, k: int, hidden: tuple[int, ...],
                      expected: tuple[list[int | None], int | None]) -> None:
    assert shown(cells, total, k, hidden) == expected


def possible_values(seen: list[int | None], total: int | None) -> list[set[int]]:
    """A reader's brute force: every value each cell can take, given what is shown and that
    counts are whole and not negative. Without a total, a withheld cell could be anything."""
    options: list[set[int]] = [{0, 1} if v is None else {v} for v in seen]
    unknown = [i for i, v in enumerate(seen) if v is None]
    if total is None or not unknown:
        return options
    left = total - sum(v or 0 for v in seen)
    for i in unknown:
        options[i] = set()
    for guess in itertools.product(range(left + 1), repeat=len(unknown) - 1):
        last = left - sum(guess)
        if last >= 0:
            for i, value in zip(unknown, (*guess, last), strict=True):
                options[i].add(value)
    return options


def test_no_withheld_cell_can_be_worked_out_from_a_row() -> None:
    rng = random.Random(1729)  # noqa: S311 - a fixed seed, so every run checks the same rows
    k = 5
    for _ in range(400):
        cells = [rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 11]) for _ in range(rng.randint(1, 5))]
        hidden = tuple(i for i in range(len(cells)) if rng.random() < 0.2)
        result = suppress_row(cells, sum(cells), k=k, hidden=hidden)
        seen: list[int | None] = [None if w else v for v, w in zip(cells, result.cells,
                                                                   strict=True)]
        options = possible_values(seen, None if result.total else sum(cells))
        for i, value in enumerate(cells):
            if value < k or (result.cells[i] and i not in hidden):
                assert len(options[i]) > 1, (cells, hidden, seen, i)


def test_a_row_whose_cells_do_not_add_up_is_refused() -> None:
    with pytest.raises(ValueError, match="add up"):
        suppress_row([3, 4], 8)


# --- districts, ages, months ---------------------------------------------------------------------


@pytest.mark.parametrize(("postal_code", "district"), [
    ("11201", "Brooklyn"), ("10004", "Manhattan"), ("10301", "Staten Island"),
    ("10451", "Bronx"), ("11354", "Queens"), ("11004", "Queens"), ("11001", "other"),
    ("11201-1234", "Brooklyn"), ("90210", "other"),
])
def test_the_shipped_mapping_finds_the_district(postal_code: str, district: str) -> None:
    address = Address(line1="1 Main St", city="X", state="NY", postal_code=postal_code)
    assert load_districts().district_of(address) == district


def test_no_address_is_no_fixed_address() -> None:
    assert load_districts().district_of(None) == "no fixed address"


def test_a_city_replaces_the_mapping_through_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mapping = tmp_path / "districts.yaml"
    mapping.write_text("districts:\n  - name: Harbour\n    zips: ['11201']\n"
                       "  - name: Hills\n    prefixes: ['1']\n")
    monkeypatch.setenv("CITYID_DISTRICTS_PATH", str(mapping))
    districts = load_districts()
    assert districts.groups == ("Harbour", "Hills", "other", "no fixed address")
    assert districts.district_of(BROOKLYN) == "Harbour"
    assert districts.district_of(MANHATTAN) == "Hills"


def test_a_zip_in_two_districts_is_refused(tmp_path: Path) -> None:
    mapping = tmp_path / "districts.yaml"
    mapping.write_text("districts:\n  - name: A\n    zips: ['11201']\n"
                       "  - name: B\n    zips: ['11201']\n")
    with pytest.raises(DistrictMapInvalid):
        load_districts(mapping)


@pytest.mark.parametrize(("age", "band"), [(10, "10-13"), (13, "10-13"), (14, "14-17"),
                                           (24, "18-24"), (25, "25-44"), (64, "45-64"),
                                           (65, "65+"), (101, "65+")])
def test_age_bands(age: int, band: str) -> None:
    assert impact.age_band(age) == band


def test_the_window_is_complete_months_in_the_city_zone() -> None:
    zone = ZoneInfo("America/New_York")
    # 02:00 UTC on 1 November is still 31 October in New York: October is not complete yet.
    window = window_before(datetime(2026, 11, 1, 2, 0, tzinfo=UTC), 3, zone)
    assert window.months == ("2026-07", "2026-08", "2026-09")
    assert window.since == datetime(2026, 7, 1, 4, 0, tzinfo=UTC)
    assert window.until == datetime(2026, 10, 1, 4, 0, tzinfo=UTC)
    assert window_before(datetime(2026, 2, 5, tzinfo=UTC), 2, zone).months == ("2025-12",
                                                                                "2026-01")


# --- the report, from the database ------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return FixedClock(SEPTEMBER)


@pytest.fixture
def admin(auth_header: Callable[[str], Headers]) -> Headers:
    return auth_header("admin")


def make_cardholder(runtime: Runtime, *, born: date, address: Address | None,
                    veteran: bool = False) -> dict[str, Any]:
    return make_shared_cardholder(runtime, "Ines", born, address=address, veteran=veteran)


@pytest.fixture
def program(runtime: Runtime, clock: FixedClock, client: TestClient,
            auth_header: Callable[[str], Headers]) -> list[dict[str, Any]]:
    """September: 12 veterans aged 30 in Brooklyn and 3 non-veterans aged 70 in Manhattan
    enroll and get cards. October: all 15 redeem a service benefit, and one is voided.
    The clock ends in November, so the two-month report covers September and October."""
    holders = [make_cardholder(runtime, born=date(1996, 1, 2), address=BROOKLYN, veteran=True)
               for _ in range(12)]
    holders += [make_cardholder(runtime, born=date(1956, 1, 2), address=MANHATTAN)
                for _ in range(3)]
    clock.set(OCTOBER)
    admin = auth_header("admin")
    partner, key = make_partner(client, admin, "cultural", "Harbour Museum")
    benefit = make_benefit(client, admin, partner["id"], OCTOBER.date())
    receipts = []
    for holder in holders:
        response = client.post("/v1/redemptions", json={"benefit_id": benefit["id"],
                                                        "qr": holder["qr"]},
                               headers={**key, "Idempotency-Key": uuid.uuid4().hex})
        assert response.status_code == 200, response.text
        receipts.append(response.json())
    voided = client.post(f"/v1/redemptions/{receipts[0]['id']}/void", headers=key,
                         json={"reason": "entered_in_error"})
    assert voided.status_code == 200, voided.text
    clock.set(NOVEMBER)
    return holders


@pytest.fixture
def reader(program: Any, auth_header: Callable[[str], Headers]) -> Headers:
    """An admin signed in after the program's months (a token signed in earlier expired)."""
    return auth_header("admin")


def table(report: dict[str, Any], table_id: str) -> dict[str, list[Any]]:
    """month -> [cell values..., total] as a reader sees them (None: withheld)."""
    found = next(t for t in report["tables"] if t["id"] == table_id)
    out = {}
    for row in found["rows"]:
        cells = [*row["cells"], *([row["total"]] if row["total"] else [])]
        for cell in cells:
            assert (cell["value"] is None) == cell["suppressed"]
        out[row["month"]] = [c["value"] for c in cells]
    return out


def get_report(client: TestClient, admin: Headers) -> dict[str, Any]:
    response = client.get("/v1/reports/impact?months=2", headers=admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_monthly_totals_count_enrollments_cards_and_live_redemptions(
        client: TestClient, reader: Headers) -> None:
    monthly = table(get_report(client, reader), "monthly")
    assert monthly == {"2026-09": [15, 15, S], "2026-10": [S, S, 14]}


def test_small_district_cells_are_suppressed(client: TestClient,
                                             reader: Headers) -> None:
    by_district = table(get_report(client, reader), "enrollments_by_district")
    # Manhattan, Bronx, Brooklyn, Queens, Staten Island, other, no fixed address; total
    assert by_district["2026-09"] == [S, S, 12, S, S, S, S, 15]
    assert by_district["2026-10"] == [S, S, S, S, S, S, S, S]
    ages = table(get_report(client, reader), "cards_issued_by_age_band")
    assert ages["2026-09"] == [S, S, S, 12, S, S, 15]


def test_veterans_are_withheld_when_the_total_would_reveal_the_non_veterans(
        client: TestClient, reader: Headers) -> None:
    """12 veterans of 15: shown, the total less them would say 3 residents are not veterans."""
    report = get_report(client, reader)
    assert table(report, "enrollments_by_designation")["2026-09"] == [S, S, 15]
    assert table(report, "enrollments_by_age_band")["2026-09"][3] == 12


def test_a_lone_nonzero_category_is_withheld_with_the_zeros_beside_it(
        client: TestClient, reader: Headers) -> None:
    """14 service redemptions and none of the others: shown, the total would prove the zeros."""
    categories = table(get_report(client, reader), "redemptions_by_benefit_category")
    assert categories["2026-10"] == [S, S, S, 14]


def test_a_resident_whose_key_is_shredded_is_not_counted(
        program: list[dict[str, Any]], client: TestClient, reader: Headers,
        runtime: Runtime) -> None:
    with unit_of_work(runtime.sessions) as session:
        assert runtime.vault.shred(session, program[0]["resident_id"])
    monthly = table(get_report(client, reader), "monthly")
    assert monthly["2026-09"] == [14, 14, S]
    # the shredded holder's redemption was the voided one; 14 remain
    assert monthly["2026-10"] == [S, S, 14]


def test_the_csv_parses_and_never_shows_a_small_number(client: TestClient,
                                                       reader: Headers) -> None:
    response = client.get("/v1/reports/impact.csv?months=2&table=enrollments_by_district",
                          headers=reader)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["month", "Manhattan", "Bronx", "Brooklyn", "Queens", "Staten Island",
                       "other", "no fixed address", "total"]
    assert rows[1] == ["2026-09", *["suppressed"] * 2, "12", *["suppressed"] * 4, "15"]
    assert len(rows) == 3
    assert "3" not in {cell for row in rows[1:] for cell in row}


def test_the_chart_is_svg_with_one_bar_per_month(client: TestClient,
                                                 reader: Headers) -> None:
    response = client.get("/v1/reports/impact/enrollments_by_district.svg?months=2",
                          headers=reader)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ElementTree.fromstring(response.text)  # noqa: S314 - the program's own output
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    months = root.findall(f"{ns}g[@class='month']")
    assert [g.get("data-month") for g in months] == ["2026-09", "2026-10"]
    bars = [g.findall(f"{ns}rect[@class='bar']") for g in months]
    assert [len(b) for b in bars] == [1, 1]
    assert [b[0].get("data-total") for b in bars] == ["15", "suppressed"]
    assert float(bars[0][0].get("height", "0")) > 0
    assert float(bars[1][0].get("height", "0")) == 0


def test_an_unknown_table_is_not_found(client: TestClient, admin: Headers) -> None:
    response = client.get("/v1/reports/impact.csv?table=residents_by_name", headers=admin)
    assert response.status_code == 404
    assert response.json()["code"] == "impact_table_not_found"


def test_every_table_is_served(client: TestClient, admin: Headers) -> None:
    report = get_report(client, admin)
    assert [t["id"] for t in report["tables"]] == impact.table_ids()
    for table_id in impact.table_ids():
        svg = client.get(f"/v1/reports/impact/{table_id}.svg", headers=admin)
        assert svg.status_code == 200
        ElementTree.fromstring(svg.text)  # noqa: S314 - the program's own output


@pytest.mark.parametrize("role", ["clerk", "supervisor"])
def test_staff_other_than_admins_and_auditors_are_refused(
        role: str, client: TestClient, auth_header: Callable[[str], Headers]) -> None:
    headers = auth_header(role)
    for path in ("/v1/reports/impact", "/v1/reports/impact.csv?table=monthly",
                 "/v1/reports/impact/monthly.svg"):
        assert client.get(path, headers=headers).status_code == 403


def test_a_partner_api_key_is_refused(client: TestClient, admin: Headers) -> None:
    _, key = make_partner(client, admin, "cultural", "Harbour Museum")
    assert client.get("/v1/reports/impact", headers=key).status_code == 403


def test_an_auditor_may_read_the_report(client: TestClient,
                                        auth_header: Callable[[str], Headers]) -> None:
    assert client.get("/v1/reports/impact", headers=auth_header("auditor")).status_code == 200


def test_generating_a_report_is_audited_without_personal_values(
        client: TestClient, reader: Headers, runtime: Runtime) -> None:
    client.get("/v1/reports/impact.csv?months=2&table=monthly", headers=reader)
    [entry] = [e for e in audit_trail(runtime) if e.action == "report.impact"]
    assert entry.subject is None
    assert entry.detail == {"output": "csv", "table": "monthly", "months": 2, "k": 10,
                            "unreadable_residents": 0}
