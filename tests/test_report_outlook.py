"""The outlook report: one offline HTML page from a hand-built outlook whose headline, Gantt bars
and notes can be checked by hand from the tables below."""

from __future__ import annotations

import dataclasses
import re
from datetime import date

import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from chokepoint import __version__
from chokepoint.errors import ChokepointError
from chokepoint.foresight import Pipeline
from chokepoint.report.outlook import FIGURE_IDS, outlook_headline, render_outlook_report
from chokepoint.report.outlook_figures import (
    balance_figure,
    concentration_figure,
    demand_figure,
    dependence_figure,
    pipeline_gantt,
    pressure_drivers_figure,
    pressure_heatmap,
    pressure_order,
)

#: A src= or href= attribute whose value is a network URL (the test of the simulation report).
_REMOTE = re.compile(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
_SCRIPT_BODY = re.compile(r"(<script\b[^>]*>).*?</script>", re.IGNORECASE | re.DOTALL)
YEARS = (2025, 2030, 2035, 2040)

# Scores (= deficit + concentration + growth points): Ga leads in 2025, Dy from 2030 on.
_PRESSURE = [
    # material, year, deficit, concentration, growth
    ("Ga", 2025, 20, 35, 5), ("Dy", 2025, 15, 30, 5), ("Nd", 2025, 5, 10, 5),
    ("Ga", 2030, 18, 32, 5), ("Dy", 2030, 25, 28, 5), ("Nd", 2030, 8, 12, 5),
    ("Ga", 2035, 15, 30, 5), ("Dy", 2035, 38, 26, 6), ("Nd", 2035, 10, 14, 6),
    ("Ga", 2040, 12, 28, 5), ("Dy", 2040, 40, 24, 8), ("Nd", 2040, 12, 16, 7),
]  # fmt: skip
# 2040: Dy 600 t short of 3,000 t (20%), Nd 3,000 t of 60,000 t (5%), Ga has 100 t to spare.
_BALANCE_2040 = {
    "Dy": (3_000, 2_400, 2_000, 2_800),
    "Nd": (60_000, 57_000, 54_000, 59_000),
    "Ga": (900, 1_000, 950, 1_050),
}


def _pressure() -> pd.DataFrame:
    p = pd.DataFrame(_PRESSURE, columns=["material", "year", "deficit_points", "concentration_points", "growth_points"])
    p["score"] = p[["deficit_points", "concentration_points", "growth_points"]].sum(axis=1).astype(float)
    p["rank"] = p.groupby("year")["score"].rank(ascending=False, method="first").astype(int)
    return p


def _balance() -> pd.DataFrame:
    rows = []
    for material, (demand, supply, p10, p90) in _BALANCE_2040.items():
        for k, year in enumerate(YEARS):  # demand grows to its 2040 value, supply likewise
            f = (k + 1) / len(YEARS)
            rows.append((year, material, demand * f, supply * f, p10 * f, p90 * f))
    b = pd.DataFrame(rows, columns=["year", "material", "demand_t", "supply_t", "supply_p10_t", "supply_p90_t"])
    b["balance_t"] = b["supply_t"] - b["demand_t"]
    b["deficit_share"] = (-b["balance_t"]).clip(lower=0) / b["demand_t"]
    return b


def _demand() -> pd.DataFrame:
    b = _balance()
    ev = b.assign(scenario="APS", driver="ev_traction", demand_t=0.7 * b["demand_t"], recycled_t=0.05 * b["demand_t"])
    wind = b.assign(scenario="APS", driver="wind", demand_t=0.3 * b["demand_t"], recycled_t=0.0)
    return pd.concat([ev, wind])[["scenario", "year", "driver", "material", "demand_t", "recycled_t"]]


def _concentration() -> pd.DataFrame:
    rows = [
        (year, stage, material, hhi, "CHN", share)
        for year in YEARS
        for stage, material, hhi, share in [
            ("mining", "Dy", 6_000, 0.70), ("refining", "Dy", 8_200, 0.90),
            ("mining", "Nd", 4_500, 0.60), ("refining", "Nd", 7_400, 0.85),
        ]
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["year", "stage", "material", "hhi", "top1_region", "top1_share"])


def _dependence() -> pd.DataFrame:
    rows = [(y, r, "ndfeb_magnet", pct - 2 * k) for k, y in enumerate(YEARS) for r, pct in [("USA", 81), ("JPN", 60)]]
    return pd.DataFrame(rows, columns=["year", "region_id", "commodity_id", "controller_share_pct"])


def _projects() -> pd.DataFrame:
    """Five projects: four with a target year (one operating since 2007), one without."""
    columns = ["name", "region_id", "commodity_id", "status", "target_year", "first_year_p50", "first_year_p90",
               "p_online_by_target", "capacity_t_per_yr"]  # fmt: skip
    rows = [
        ("Old mine", "AUS", "ree_concentrate", "operating", 2007.0, None, None, None, None),
        ("Magnet plant", "USA", "ndfeb_magnet", "construction", 2026.0, 2027.0, 2029.0, 0.36, 1_000.0),
        ("Refinery", "AUS", "ree_oxide", "planned", 2030.0, 2031.0, 2033.0, 0.20, 4_440.0),
        ("Metal line", "EST", "ree_metal", "financed", 2028.0, 2028.0, 2030.0, 0.60, 500.0),
        ("Undated idea", "CAN", "ree_oxide", "planned", None, None, None, None, None),
    ]
    return pd.DataFrame(rows, columns=columns).astype(dict.fromkeys(columns[4:], float))


def _iea() -> pd.DataFrame:
    rows = [
        ("APS", 2030, "magnet_ree", 100.0, 95.0, "calibrate"),
        ("APS", 2040, "magnet_ree", 130.0, 150.0, "validate"),
    ]
    iea = pd.DataFrame(rows, columns=["scenario", "year", "bucket", "bottom_up_kt", "iea_kt", "split"])
    iea["gap_pct"] = 100.0 * (iea["bottom_up_kt"] / iea["iea_kt"] - 1.0)
    return iea


@dataclasses.dataclass(frozen=True)
class FakeOutlook:
    scenario: str = "APS"
    to: int = 2040
    as_of: int = 2024
    dataset: str = "default"
    fingerprint: str = "36fe98cedd1f8ff4"
    demand: pd.DataFrame = dataclasses.field(default_factory=_demand)
    balance: pd.DataFrame = dataclasses.field(default_factory=_balance)
    concentration: pd.DataFrame = dataclasses.field(default_factory=_concentration)
    dependence: pd.DataFrame = dataclasses.field(default_factory=_dependence)
    pressure: pd.DataFrame = dataclasses.field(default_factory=_pressure)
    top_five: pd.DataFrame = dataclasses.field(
        default_factory=lambda: pd.DataFrame(
            {"material": ["Dy", "Ga"], "first_year_in_top_five": [2025, 2025], "years_in_top_five": [4, 4]}
        )
    )
    pipeline: Pipeline = dataclasses.field(
        default_factory=lambda: Pipeline(projects=_projects(), capacity=pd.DataFrame(), as_of=2024, draws=1_000)
    )
    iea: pd.DataFrame = dataclasses.field(default_factory=_iea)
    notes: list[str] = dataclasses.field(default_factory=lambda: ["Yb-171 per trapped-ion system: assumed <b>0</b>"])


@dataclasses.dataclass(frozen=True)
class NoDependence:
    """An outlook from before dependence was traced: the attribute does not exist."""

    scenario: str = "STEPS"
    to: int = 2040
    as_of: int = 2024
    dataset: str = "default"
    fingerprint: str = "abc"
    balance: pd.DataFrame = dataclasses.field(default_factory=_balance)


FAKE = FakeOutlook()
CREATED = date(2026, 12, 2)


@pytest.fixture(scope="module")
def page() -> str:
    return render_outlook_report(FAKE, created=CREATED)


def test_one_offline_document_with_plotly_once(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")
    assert page.count("<html") == page.count("</html>") == page.count("<body") == 1
    assert page.count(get_plotlyjs()) == 1
    markup = _SCRIPT_BODY.sub(r"\1</script>", page)
    assert not _REMOTE.search(markup), "a src/href loads from the network"
    assert not re.search(r"<(?:script|link)\b[^>]*(?:src|href)=", markup), "only inline scripts and styles"


def test_every_figure_is_drawn(page: str) -> None:
    assert page.count('class="plotly-graph-div"') == len(FIGURE_IDS) == 7
    for div in FIGURE_IDS.values():
        assert f'id="{div}"' in page
    assert "Not drawn" not in page
    assert "Not in this report" not in page


def test_headline_names_the_top_material_its_year_and_the_deficit() -> None:
    headline = outlook_headline(FAKE)
    # Dy ranks first from 2030 (58 > 55 points) to 2040; Ga led in 2025. Dy's 2040 score: 40 + 24 + 8.
    assert headline.startswith("Under APS, Dy is the top pressure point from 2030 to 2040, taking over from Ga;")
    assert "its 2040 score is 72 points, mostly from deficit (40) and concentration (24)." in headline
    # 3,000 − 2,400 = 600 t (20%); at supply p90 3,000 − 2,800 = 200 t, at p10 3,000 − 2,000 = 1,000 t.
    assert "Dy demand exceeds expected supply by 600 t (20% of demand) in 2040" in headline
    assert "(with supply at its p90 the gap is 200 t, at its p10 1,000 t); 2 of 3 materials are short" in headline
    assert "Dy refining: CHN holds 90% (HHI 8,200)" in headline
    assert "75% of USA's ndfeb_magnet supply still rests on the controller in 2040" in headline  # 81 − 2·3
    # Construction 0.36 and planned 0.20 are below one half; financed 0.60 is not; the undated one has no odds.
    assert "Of the 3 projects not yet operating, 2 are more likely than not to miss their target year." in headline


def test_headline_and_stamp_are_on_the_page(page: str) -> None:
    assert "Under APS, Dy is the top pressure point from 2030 to 2040" in page
    stamp = re.search(r'<p class="stamp">(.*?)</p>', page)
    assert stamp is not None
    for part in ("scenario APS", "2024 data to 2040", "dataset default (fingerprint 36fe98cedd1f8ff4)",
                 "1,000 Monte Carlo draws", f"chokepoint {__version__}", "2026-12-02"):  # fmt: skip
        assert part in stamp.group(1)


def test_a_leader_throughout_says_so() -> None:
    p = _pressure()
    p = p[p["year"] >= 2030]  # Dy leads in every year left
    assert outlook_headline(dataclasses.replace(FAKE, pressure=p)).startswith(
        "Under APS, Dy is the top pressure point throughout 2030–2040;"
    )


def test_no_deficit_is_said_plainly() -> None:
    b = _balance()
    b["supply_t"] = b["demand_t"] * 1.1
    assert "In 2040 expected supply covers demand for each of the 3 materials in the balance." in outlook_headline(
        dataclasses.replace(FAKE, balance=b)
    )


def test_gantt_has_one_bar_per_project_with_a_target_year() -> None:
    fig = pipeline_gantt(_projects(), to=2040, as_of=2024)
    bars = [t for t in fig.data if t.meta == "project"]
    assert sorted(t.name for t in bars) == ["construction", "financed", "operating", "planned"]
    assert sum(len(t.y) for t in bars) == 4  # the undated project has no bar
    labels = dict(zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext, strict=True))
    assert set(labels.values()) == {"Old mine (AUS)", "Magnet plant (USA)", "Metal line (EST)", "Refinery (AUS)"}
    by_name = {t.name: t for t in fig.data}
    planned = by_name["planned"]
    assert labels[planned.y[0]] == "Refinery (AUS)"
    assert planned.base[0] == 2030
    assert planned.x[0] == 11  # to the end of 2040
    # Slip bands of the refinery: 2030 → 2031 (median), 2031 → 2033 (p90).
    row = list(labels.values()).index("Refinery (AUS)")
    median, p90 = by_name["slip to median first year (p50)"], by_name["slip to p90 first year"]
    assert (median.base[row], median.x[row]) == (2030, 1)
    assert (p90.base[row], p90.x[row]) == (2031, 2)
    # The operating mine has no slip: both bands are empty, not NaN.
    mine = list(labels.values()).index("Old mine (AUS)")
    assert median.x[mine] == 0
    assert p90.x[mine] == 0
    assert fig.layout.xaxis.title.text == "year"


def test_figures_name_their_units() -> None:
    assert balance_figure(_balance()).layout.yaxis.title.text == "t/yr"
    assert demand_figure(_demand()).layout.yaxis.title.text == "t/yr"
    assert concentration_figure(_concentration()).layout.yaxis.title.text == "top-1 share (%)"
    assert dependence_figure(_dependence()).layout.yaxis.title.text == "traced share on the controller (%)"
    assert pressure_drivers_figure(_pressure()).layout.yaxis.title.text == "points"
    heat = pressure_heatmap(_pressure())
    assert heat.data[0].colorbar.title.text == "score (points)"


def test_concentration_in_percent_with_the_producer_and_hhi_in_the_hover() -> None:
    fig = concentration_figure(_concentration())
    dy_refining = next(t for t in fig.data if t.name == "Dy" and t.xaxis == "x2")  # panel 2: refining
    assert list(dy_refining.y) == [90.0] * 4
    assert tuple(dy_refining.customdata[0]) == ("CHN", 8_200.0)


def test_heatmap_rows_are_in_rank_order() -> None:
    assert pressure_order(_pressure()) == ["Dy", "Ga", "Nd"]  # 72, 45, 35 points in 2040
    heat = pressure_heatmap(_pressure())
    assert list(heat.data[0].y) == ["Dy", "Ga", "Nd"]
    assert list(heat.data[0].x) == list(YEARS)
    assert heat.data[0].z[0][-1] == 72.0  # Dy, 2040


def test_driver_bars_for_the_first_milestone_and_last_years() -> None:
    fig = pressure_drivers_figure(_pressure())
    assert [a.text for a in fig.layout.annotations] == ["2025", "2030", "2040"]
    concentration_2040 = next(t for t in fig.data if t.name == "concentration" and t.yaxis == "y3")
    assert dict(zip(concentration_2040.x, concentration_2040.y, strict=True)) == {"Dy": 24, "Ga": 28, "Nd": 16}
    assert list(concentration_2040.x) == ["Dy", "Ga", "Nd"]  # by score that year


def test_iea_table_with_its_split_and_the_notes_escaped(page: str) -> None:
    assert "calibrate: 1 of 1 within ±10%; validate: 0 of 1 within ±10%" in page
    assert '<tr class="outside"><td>APS</td><td class="num">2040</td>' in page  # −13.3%
    assert "−13.3%" in page or "-13.3%" in page
    assert "assumed &lt;b&gt;0&lt;/b&gt;" in page


def test_an_empty_table_is_a_note_not_a_traceback() -> None:
    page = render_outlook_report(dataclasses.replace(FAKE, balance=FAKE.balance.iloc[0:0]), created=CREATED)
    assert f'id="{FIGURE_IDS["balance"]}"' not in page
    assert "Not drawn: balance: no rows." in page
    assert page.count('class="plotly-graph-div"') == 6
    assert "demand exceeds" not in page  # no balance sentence in the headline


def test_a_missing_column_or_a_wrong_type_is_named() -> None:
    page = render_outlook_report(
        dataclasses.replace(
            FAKE,
            concentration=FAKE.concentration.drop(columns=["hhi", "top1_share"]),
            dependence=FAKE.dependence.astype({"controller_share_pct": str}),
            iea=None,  # type: ignore[arg-type]
        ),
        created=CREATED,
    )
    assert "Not drawn: concentration: missing columns hhi, top1_share." in page
    assert (
        "Not drawn: dependence, column controller_share_pct: expected numbers, got object (e.g. &#39;81&#39;)." in page
    )
    assert "Not shown: iea: not in this outlook." in page


def test_an_outlook_with_missing_attributes_still_renders() -> None:
    page = render_outlook_report(NoDependence(), created=CREATED)  # type: ignore[arg-type]
    assert page.count('class="plotly-graph-div"') == 1  # the balance only
    assert f'id="{FIGURE_IDS["balance"]}"' in page
    assert "Not drawn: dependence: not in this outlook." in page
    assert "Not drawn: pipeline.projects: not in this outlook." in page
    assert "Under STEPS" not in page  # no pressure table, so no top pressure point
    assert "Dy demand exceeds expected supply by 600 t" in page


def test_a_leader_of_the_last_year_only() -> None:
    p = _pressure()
    p.loc[(p["material"] == "Dy") & (p["year"] == 2035), "rank"] = 2  # Ga back on top in 2035
    p.loc[(p["material"] == "Ga") & (p["year"] == 2035), "rank"] = 1
    assert outlook_headline(dataclasses.replace(FAKE, pressure=p)).startswith(
        "Under APS, Dy is the top pressure point in 2040, taking over from Ga;"
    )


def test_long_project_names_are_cut_on_the_axis_and_whole_in_the_hover() -> None:
    projects = _projects()
    projects.loc[projects["name"] == "Refinery", "name"] = (
        "Saskatchewan Research Council rare earth processing facility"
    )
    fig = pipeline_gantt(projects, to=2040, as_of=2024)
    assert (
        "Saskatchewan Research Council rare earth proces… (AUS)"
    )  # 47 characters and "…" in fig.layout.yaxis.ticktext
    planned = next(t for t in fig.data if t.name == "planned")
    assert planned.hovertext[0].startswith("Saskatchewan Research Council rare earth processing facility (AUS")


def test_a_share_on_the_wrong_scale_is_not_drawn() -> None:
    percent = FAKE.concentration.assign(top1_share=100 * FAKE.concentration["top1_share"])
    page = render_outlook_report(dataclasses.replace(FAKE, concentration=percent), created=CREATED)
    assert "Not drawn: concentration, column top1_share: 70 is outside 0–1 (a fraction, not a percentage)." in page
    # HHI on the 0–1 scale: Dy mining 0.6 against 10,000 × 0.7² = 4,900.
    unit = FAKE.concentration.assign(hhi=FAKE.concentration["hhi"] / 10_000)
    page = render_outlook_report(dataclasses.replace(FAKE, concentration=unit), created=CREATED)
    assert "column hhi: 0.6 is below 10,000 × top-1 share² (4,900) for Dy mining 2025; is HHI on the 0–1 scale?" in page
    assert f'id="{FIGURE_IDS["concentration"]}"' not in page
    assert "most concentrated" not in page


def test_an_infinite_value_is_named() -> None:
    balance = FAKE.balance.copy()
    balance.loc[balance.index[-1], "supply_t"] = float("inf")
    page = render_outlook_report(dataclasses.replace(FAKE, balance=balance), created=CREATED)
    assert "Not drawn: balance, column supply_t: inf is not a finite number." in page


def test_nothing_readable_gives_a_headline_that_says_so() -> None:
    empty = pd.DataFrame()
    bare = dataclasses.replace(
        FAKE, demand=empty, balance=empty, concentration=empty, dependence=empty, pressure=empty, top_five=empty,
        pipeline=Pipeline(projects=empty, capacity=empty, as_of=2024, draws=1), iea=empty, notes=[],
    )  # fmt: skip
    page = render_outlook_report(bare, created=CREATED)
    assert "The APS outlook has no table the report can read; see the notes below." in page
    assert 'class="plotly-graph-div"' not in page
    assert page.count("Not drawn:") == 7
    assert "Report: top_five: no rows." in page


def test_the_shortage_table_lists_who_is_short_in_the_milestone_years(page: str) -> None:
    # Balance years 2025, 2030, 2035, 2040: milestones 2025, 2030 and 2040. Each year scales the 2040
    # figures by (k + 1)/4, so Dy is 20% short and Nd 5% short in every year; Ga never is.
    assert "Materials whose demand exceeds expected supply in 2025, 2030, 2040" in page
    table = page[page.index('<table class="shortages">') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL)[1:]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows]
    assert [(c[0], c[1]) for c in cells] == [("2025", "Dy"), ("2025", "Nd"), ("2030", "Dy"), ("2030", "Nd"),
                                             ("2040", "Dy"), ("2040", "Nd")]  # fmt: skip
    dy_2040 = next(c for c in cells if c[:2] == ["2040", "Dy"])
    assert dy_2040[2:] == ["3,000", "2,400", "2,000–2,800", "600", "20.0", "200 to 1,000"]
    dy_2025 = next(c for c in cells if c[:2] == ["2025", "Dy"])
    assert dy_2025[5] == "150"  # a quarter of 600 t


def test_one_late_project_is_counted_in_the_singular() -> None:
    projects = _projects()
    projects = projects[projects["name"].isin(["Old mine", "Refinery"])]
    one = Pipeline(projects=projects, capacity=pd.DataFrame(), as_of=2024, draws=10)
    headline = outlook_headline(dataclasses.replace(FAKE, pipeline=one))
    assert headline.endswith("Of the 1 project not yet operating, 1 is more likely than not to miss its target year.")


def test_the_shortage_table_lists_five_a_year_and_counts_the_rest() -> None:
    b = _balance()
    extra = [b[b["material"] == m].assign(material=f"{m}{i}") for m in ("Dy", "Nd") for i in (2, 3)]  # 4 more
    page = render_outlook_report(dataclasses.replace(FAKE, balance=pd.concat([b, *extra])), created=CREATED)
    table = page[page.index('<table class="shortages">') :]
    table = table[: table.index("</table>")]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.DOTALL)[1:]]
    in_2040 = [c[1] for c in cells if c[0] == "2040"]
    assert in_2040 == ["Dy", "Dy2", "Dy3", "Nd", "Nd2", "… and 1 more short that year"]  # 20% short ×3, then 5% ×3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scenario": None}, "outlook report: the outlook has no scenario"),
        ({"to": "2040"}, "outlook report, field to: expected int, got '2040'"),
        ({"as_of": True}, "outlook report, field as_of: expected int, got True"),
        ({"to": 2024}, "outlook report, field to: 2024 is not after as_of 2024"),
    ],
)
def test_a_bad_scalar_is_one_line_error(change: dict[str, object], message: str) -> None:
    with pytest.raises(ChokepointError) as caught:
        render_outlook_report(dataclasses.replace(FAKE, **change), created=CREATED)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_gantt_marks_where_the_outlook_starts() -> None:
    fig = pipeline_gantt(_projects(), to=2040, as_of=2024)
    assert [s.x0 for s in fig.layout.shapes] == [2025]
    assert [a.text for a in fig.layout.annotations] == ["outlook from 2025"]


def test_the_magnet_rare_earths_together_when_all_four_are_in_the_balance() -> None:
    b = _balance()
    b = b[b["material"] != "Ga"]
    # Dy 3,000/2,400 and Nd 60,000/57,000 in 2040, plus Pr and Tb with 1,000 t demand each and
    # 1,100 t and 700 t supply: 65,000 t of demand, 61,200 t of supply, 3,800 t (6%) short.
    last = b["year"] == 2040
    extra = pd.concat(
        [b[last & (b["material"] == "Dy")].assign(material=m, demand_t=1_000.0, supply_t=s) for m, s in
         [("pr", 1_100.0), ("Terbium", 700.0)]]
    )  # fmt: skip
    headline = outlook_headline(dataclasses.replace(FAKE, balance=pd.concat([b, extra])))
    assert (
        "Together the magnet rare earths (Nd, Pr, Dy, Tb) are 3,800 t short in 2040 (6% of their demand)." in headline
    )
    # Without terbium the group is not summed: no partial total is passed off as the four.
    three = pd.concat([b, extra[extra["material"] == "pr"]])
    assert "Together" not in outlook_headline(dataclasses.replace(FAKE, balance=three))
