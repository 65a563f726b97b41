"""Derive the element-resolved rare-earth rows of the shipped dataset from their cited inputs.

Writes, in ``src/chokepoint/data``: the rare-earth rows of ``commodities.csv`` (two concentrates
by deposit type, 16 separated oxides and 16 metals by element, four magnet types), of
``recipes.csv`` (metal ← oxide by stoichiometry, magnet ← metals by composition, oxide ←
concentrates by each deposit type's share of the element's world supply), the per-deposit and
world rows of ``element_content.csv`` and all of ``group_shares.csv``. Every derived row's note
says how it was computed; the inputs (assays, atomic weights, compositions, production) are the
cited rows and constants below. Run from the repository root after changing an input:
``.venv/bin/python scripts/element_tables.py``; ``tests/test_elements_data.py`` checks that the
shipped files equal what this script derives.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from chokepoint.dataset.groups import RARE_EARTHS

DATA = Path(__file__).resolve().parents[1] / "src" / "chokepoint" / "data"
YEAR = 2024

#: Element symbol → name, in the order the tables list them (promethium has no output).
ELEMENTS = {
    s: RARE_EARTHS[s]
    for s in ["La", "Ce", "Pr", "Nd", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Y", "Sc"]
}
#: CIAAW standard atomic weights (abridged to 5-6 significant figures), g/mol.
ATOMIC_WEIGHT = {
    "La": 138.905,
    "Ce": 140.116,
    "Pr": 140.908,
    "Nd": 144.242,
    "Sm": 150.36,
    "Eu": 151.964,
    "Gd": 157.25,
    "Tb": 158.925,
    "Dy": 162.500,
    "Ho": 164.930,
    "Er": 167.259,
    "Tm": 168.934,
    "Yb": 173.045,
    "Lu": 174.967,
    "Y": 88.906,
    "Sc": 44.956,
    "O": 15.999,
}
#: Oxide formula (metal atoms, oxygen atoms) as traded; R2O3 unless listed.
OXIDE = dict.fromkeys(ELEMENTS, (2, 3)) | {"Ce": (1, 2), "Pr": (6, 11), "Tb": (4, 7)}
HEAVY = ("Dy", "Tb")

#: Magnet types: (id, name, elements, composition t metal per t magnet, description).
#: Compositions: NdFeB ~30% rare earths (Heim & Vander Wal 2023: 29-32%), NdPr at the 75:25 Nd:Pr
#: ratio of NdPr; high-coercivity grades Dy ~4%, Tb 0.5-1% (0.75% used) in place of NdPr.
#: SmCo: Sm2Co17 (23-25% Sm) dominates today's output, SmCo5 ~34%; 25% used.
MAGNETS = [
    (
        "ndfeb_sintered_hre",
        "Sintered NdFeB, Dy/Tb-bearing high-coercivity grades",
        "Nd Pr Dy Tb",
        {"Nd": 0.189375, "Pr": 0.063125, "Dy": 0.04, "Tb": 0.0075},
        "High-coercivity sintered grades (SH, UH, EH, AH) for traction motors, wind generators and "
        "defence: ~30% rare earths with Dy ~4% and Tb ~0.75% of magnet mass (Heim & Vander Wal 2023)",
    ),
    (
        "ndfeb_sintered",
        "Sintered NdFeB, grades without heavy rare earths",
        "Nd Pr",
        {"Nd": 0.225, "Pr": 0.075},
        "Sintered N/M grades without Dy or Tb (~30% NdPr) for servo motors, speakers, haptics",
    ),
    (
        "ndfeb_bonded",
        "Bonded NdFeB",
        "Nd Pr",
        {"Nd": 0.225, "Pr": 0.075},
        "Polymer-bonded melt-spun NdFeB powder (small motors, HDD spindles, sensors)",
    ),
    (
        "smco_magnet",
        "Samarium-cobalt magnets",
        "Sm Co",
        {"Sm": 0.25},
        "Sm2Co17 and SmCo5 magnets for high-temperature defence and aerospace uses",
    ),
]
#: Magnet type shares of HS 850511 tonnage: bonded from MIIT 2021 (9,400 of 216,500 t);
#: SmCo 1% (assumption); the Dy/Tb-bearing share is derived from world Dy supply (below).
BONDED_SHARE = 9_400 / 216_500
SMCO_SHARE = 0.01
#: Yields (as before: assumptions or derived from scrap rates), kept visible in recipes.csv.
YIELD = {"oxide": 0.9, "metal": 0.95, "magnet": 0.784}
#: China's ionic-clay share of its mining quota: H1 2024 ionic-clay quota 10.14 kt of 135 kt
#: (Project Blue, 8 Feb 2024).
CHN_IONIC = 10_140 / 135_000
IONIC_REGIONS = {"MMR", "LAO"}


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{name}.csv", dtype=str, keep_default_na=False)


def _write(name: str, df: pd.DataFrame) -> None:
    buf = io.StringIO()
    df.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    (DATA / f"{name}.csv").write_text(buf.getvalue(), encoding="utf-8")


def metal_content(e: str) -> float:
    """t oxide per t metal: M(R_aO_b) / (a·M(R))."""
    a, b = OXIDE[e]
    return (a * ATOMIC_WEIGHT[e] + b * ATOMIC_WEIGHT["O"]) / (a * ATOMIC_WEIGHT[e])


def formula(e: str) -> str:
    a, b = OXIDE[e]
    return f"{e}{a if a > 1 else ''}O{b}"


def commodities(old: pd.DataFrame) -> pd.DataFrame:
    all_re = " ".join(e for e in ELEMENTS if e != "Sc")
    rows = [
        {
            "commodity_id": "ree_concentrate_hardrock",
            "name": "Hard-rock rare-earth concentrate (bastnäsite, monazite)",
            "product_group": "ree_concentrate",
            "stage": "mining",
            "stage_order": 1,
            "quantity_basis": "t rare-earth oxide (REO) equivalent",
            "elements": all_re,
            "hs_codes": "253090",
            "description": "Bastnäsite and monazite concentrate from hard-rock and placer deposits (Bayan Obo, "
            "Mountain Pass, Mount Weld …), light-rare-earth rich; in REO equivalent as USGS reports mining",
        },
        {
            "commodity_id": "ree_concentrate_ionic",
            "name": "Ionic-clay heavy-rare-earth concentrate",
            "product_group": "ree_concentrate",
            "stage": "mining",
            "stage_order": 1,
            "quantity_basis": "t rare-earth oxide (REO) equivalent",
            "elements": all_re,
            "hs_codes": "253090",
            "description": "Mixed rare-earth carbonate from ion-adsorption clays (southern China, Myanmar's Kachin "
            "State, Laos), rich in Y, Dy, Tb and the other heavy rare earths",
        },
    ]
    for e, name in ELEMENTS.items():
        rows.append(
            {
                "commodity_id": f"ree_oxide_{e.lower()}",
                "name": f"{name.capitalize()} oxide ({formula(e)})",
                "product_group": "ree_oxide",
                "stage": "refining",
                "stage_order": 2,
                "quantity_basis": "t REO",
                "elements": e,
                "hs_codes": "284610 284690",
                "description": f"Separated {name} oxide and compounds, in t of {formula(e)}",
            }
        )
    for e, name in ELEMENTS.items():
        rows.append(
            {
                "commodity_id": f"ree_metal_{e.lower()}",
                "name": f"{name.capitalize()} metal and alloys",
                "product_group": "ree_metal",
                "stage": "metal",
                "stage_order": 3,
                "quantity_basis": f"t {name} metal content",
                "elements": e,
                "hs_codes": "280530",
                "description": f"{name.capitalize()} metal and master alloys reduced from the separated oxide",
            }
        )
    for k, name, elements, _, description in MAGNETS:
        rows.append(
            {
                "commodity_id": k,
                "name": name,
                "product_group": "ndfeb_magnet",
                "stage": "magnet",
                "stage_order": 4,
                "quantity_basis": "t magnet",
                "elements": elements,
                "hs_codes": "850511",
                "description": description,
            }
        )
    new = pd.DataFrame(rows).assign(material="rare_earths")
    others = old[old["material"] != "rare_earths"].drop(columns=["element_control"], errors="ignore")
    symbol = {"gallium": "Ga", "germanium": "Ge", "graphite": "C", "antimony": "Sb", "tungsten": "W"}
    others = others.assign(product_group=others["commodity_id"], elements=others["material"].map(symbol))
    columns = [
        "commodity_id",
        "name",
        "material",
        "stage",
        "stage_order",
        "quantity_basis",
        "product_group",
        "elements",
        "hs_codes",
        "description",
    ]
    return pd.concat([new, others], ignore_index=True)[columns]


def deposits(content: pd.DataFrame, production: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """Per-deposit element rows (re-keyed to the concentrate types) and the world split of each type."""
    # The assays as cited: CHN (Bayan Obo), USA (Mountain Pass), AUS (Mount Weld), MMR (Longnan proxy),
    # filed under ree_concentrate before the split and under the deposit types after it.
    old = content[
        content["commodity_id"].isin(["ree_concentrate", "ree_concentrate_hardrock", "ree_concentrate_ionic"])
    ]
    assay = old["region_id"].isin(["USA", "AUS", "MMR"]) | (
        (old["region_id"] == "CHN") & old["commodity_id"].isin(["ree_concentrate", "ree_concentrate_hardrock"])
    )
    keep = old[assay].copy()
    keep["commodity_id"] = "ree_concentrate_hardrock"
    keep.loc[keep["region_id"] == "MMR", "commodity_id"] = "ree_concentrate_ionic"
    # China's ionic clays: the same Longnan assay USGS tabulates (the MMR rows use it as a proxy).
    longnan = keep[keep["region_id"] == "MMR"].copy()
    longnan["region_id"] = "CHN"
    longnan["note"] = longnan["note"].str.replace(
        "proxy: Myanmar's Kachin deposits are ionic-adsorption clays of the southern-China type.",
        "China's ionic-clay deposits (Jiangxi, Guangdong, Fujian …) at the Longnan assay.",
        regex=False,
    )
    longnan["basis"] = longnan["basis"].replace("assumption", "derived")
    rows = pd.concat([keep, longnan], ignore_index=True)
    prod = production[(production["year"] == str(YEAR)) & (production["commodity_id"] == "ree_concentrate")]
    prod = prod[~prod["region_id"].isin(["WLD"])].set_index("region_id")["production_t"].astype(float)
    split = concentrate_split(prod)
    world: dict[str, pd.Series] = {}
    out = [rows]
    for kind, assayed in (("hardrock", ["CHN", "USA", "AUS"]), ("ionic", ["CHN", "MMR"])):
        k = f"ree_concentrate_{kind}"
        weight = (prod * split[k]).reindex(assayed).fillna(0.0)
        grid = (
            rows[rows["commodity_id"] == k]
            .pivot(index="region_id", columns="element", values="share_of_reo")
            .astype(float)
            .reindex(assayed)
            .fillna(0.0)
        )
        mix = grid.mul(weight, axis=0).sum() / weight.sum()
        world[k] = mix
        used = ", ".join(f"{r} {weight[r]:,.0f} t" for r in assayed)
        out.append(
            pd.DataFrame(
                {
                    "commodity_id": k,
                    "region_id": "WLD",
                    "element": mix.index,
                    "share_of_reo": mix.round(6).map("{:g}".format).to_numpy(),
                    "source_id": "usgs_mcs2025_ree",
                    "basis": "derived",
                    "note": f"World {kind} concentrate: production-weighted mix of the assayed {kind} deposits in "
                    f"this file, sum_r(P_r x share_r)/sum_r(P_r), with {YEAR} {kind} output P ({used}; USGS MCS2025 "
                    "mining x the deposit split of group_shares.csv). Other producers take this mix. An element "
                    "blank in a deposit's assay counts as 0, so the share is a lower bound for it.",
                }
            )
        )
    return pd.concat(out, ignore_index=True), world


def concentrate_split(prod: pd.Series) -> pd.DataFrame:
    """Each producing region's split of its concentrate into the two deposit types."""
    ionic = pd.Series(0.0, index=prod.index)
    ionic[ionic.index.isin(IONIC_REGIONS)] = 1.0
    ionic["CHN"] = CHN_IONIC
    return pd.DataFrame({"ree_concentrate_ionic": ionic, "ree_concentrate_hardrock": 1 - ionic})


def group_shares(production: pd.DataFrame, trade: pd.DataFrame, world: dict[str, pd.Series]) -> pd.DataFrame:
    rows: list[dict[str, object]] = []

    def add(group: str, region: str, shares: dict[str, float], source: str, basis: str, note: str) -> None:
        total = sum(shares.values())
        rows.extend(
            {
                "product_group": group,
                "commodity_id": k,
                "region_id": region,
                "share": f"{v / total:.6g}",
                "source_id": source,
                "basis": basis,
                "note": note,
            }
            for k, v in shares.items()
            if v > 0
        )

    prod = production[(production["year"] == str(YEAR)) & (production["commodity_id"] == "ree_concentrate")]
    prod = prod.set_index("region_id")["production_t"].astype(float)
    countries = prod.drop("WLD")
    split = concentrate_split(countries)
    exporters = set(trade.loc[trade["commodity_id"] == "ree_concentrate", "exporter_id"]) - set(countries.index)
    for r in sorted(set(countries.index) | exporters - {"WLD"}):
        ionic = float(split["ree_concentrate_ionic"].get(r, 1.0 if r in IONIC_REGIONS else 0.0))
        why = (
            f"H1 {YEAR} mining quota: ionic-clay ores 10.14 kt of 135 kt REO (Project Blue)"
            if r == "CHN"
            else "ion-adsorption clay deposits (Kachin State / northern Laos)"
            if r in IONIC_REGIONS
            else "hard-rock or placer (bastnäsite/monazite) deposits; no ionic-clay output reported"
        )
        source = "projectblue_quota_2024" if r == "CHN" else "usgs_mcs2025_ree"
        basis = "derived" if r == "CHN" else "assumption"
        add(
            "ree_concentrate",
            r,
            {"ree_concentrate_hardrock": 1 - ionic, "ree_concentrate_ionic": ionic},
            source,
            basis,
            f"Deposit type of {r}'s mine output: {why}.",
        )
    ionic_t = float((countries * split["ree_concentrate_ionic"]).sum())
    add(
        "ree_concentrate",
        "WLD",
        {"ree_concentrate_hardrock": float(prod["WLD"]) - ionic_t, "ree_concentrate_ionic": ionic_t},
        "usgs_mcs2025_ree",
        "derived",
        f"World {YEAR}: ionic-clay output {ionic_t:,.0f} t of {float(prod['WLD']):,.0f} t REO (sum of the regions' "
        "splits in this file x USGS MCS2025 mining).",
    )
    oxide = world_oxide(prod, split, world)
    add(
        "ree_oxide",
        "WLD",
        {f"ree_oxide_{e.lower()}": float(oxide.get(e, 0.0)) for e in ELEMENTS},
        "usgs_myb2022_ree_t2",
        "derived",
        "World separated oxide by element = the world's mine output by deposit type x that type's world assay "
        "(element_content WLD rows), normalised to sum to 1 (assays leave some elements blank). Sc is not "
        "recovered from rare-earth concentrates (it comes from TiO2 and nickel residues) and has no share.",
    )
    add(
        "ree_oxide",
        "USA",
        {"ree_oxide_nd": 0.75, "ree_oxide_pr": 0.25},
        "mp_10k_2024",
        "derived",
        "MP Materials' separated output is NdPr oxide (1,294 t in 2024), at the 75:25 Nd:Pr ratio of NdPr.",
    )
    hre = hre_share(oxide)
    types = {
        "ndfeb_sintered_hre": (1 - BONDED_SHARE - SMCO_SHARE) * hre,
        "ndfeb_sintered": (1 - BONDED_SHARE - SMCO_SHARE) * (1 - hre),
        "ndfeb_bonded": BONDED_SHARE,
        "smco_magnet": SMCO_SHARE,
    }
    add(
        "ndfeb_magnet",
        "WLD",
        types,
        "heim_vanderwal_2023",
        "derived",
        f"Magnet types in HS 850511 tonnage: bonded {BONDED_SHARE:.4f} (MIIT 2021: 9,400 of 216,500 t NdFeB, "
        f"horizon_miit_ndfeb_2021); SmCo {SMCO_SHARE} (assumption: a few kt a year against ~290 kt NdFeB); of the "
        f"sintered rest, Dy/Tb-bearing grades {hre:.4f} = the world's Dy metal (Dy oxide share of world "
        "oxide x world oxide output / Dy2O3 per Dy x metal yield, all of it assumed to go into magnets) x magnet "
        "yield / 4% Dy per t magnet, over world magnet output.",
    )
    metal: dict[str, float] = {}
    for k, _, _, composition, _ in MAGNETS:
        for e, c in composition.items():
            metal[f"ree_metal_{e.lower()}"] = metal.get(f"ree_metal_{e.lower()}", 0.0) + types[k] * c
    add(
        "ree_metal",
        "WLD",
        metal,
        "heim_vanderwal_2023",
        "derived",
        "World rare-earth metal by element = the metal the world's magnet output needs (magnet type shares of "
        "ndfeb_magnet x each type's composition in recipes.csv). Metal for other uses (La-Ce mischmetal for "
        "batteries and steel, Gd/Ho/Y/Sc alloys) is not in the production rows and has no share.",
    )
    return pd.DataFrame(rows)


def world_oxide(prod: pd.Series, split: pd.DataFrame, world: dict[str, pd.Series]) -> pd.Series:
    countries = prod.drop("WLD")
    ionic_t = float((countries * split["ree_concentrate_ionic"]).sum())
    by_type = {"ree_concentrate_ionic": ionic_t, "ree_concentrate_hardrock": float(prod["WLD"]) - ionic_t}
    total = pd.Series(0.0, index=list(ELEMENTS))
    for k, t in by_type.items():
        total = total.add(world[k] * t, fill_value=0.0)
    return total / total.sum()


def hre_share(oxide: pd.Series) -> float:
    production = _read("production")
    row = (
        production[
            (production["year"] == str(YEAR))
            & (production["region_id"] == "WLD")
            & production["commodity_id"].isin(["ree_oxide", "ndfeb_magnet"])
        ]
        .set_index("commodity_id")["production_t"]
        .astype(float)
    )
    dy_metal = row["ree_oxide"] * oxide["Dy"] / metal_content("Dy") * YIELD["metal"]
    hre_t = dy_metal * YIELD["magnet"] / 0.04
    sintered = row["ndfeb_magnet"] * (1 - BONDED_SHARE - SMCO_SHARE)
    return min(1.0, hre_t / sintered)


def recipes(old: pd.DataFrame, world: dict[str, pd.Series], prod: pd.Series, split: pd.DataFrame) -> pd.DataFrame:
    rows = []
    countries = prod.drop("WLD")
    ionic_t = float((countries * split["ree_concentrate_ionic"]).sum())
    supply = {
        "ree_concentrate_ionic": world["ree_concentrate_ionic"] * ionic_t,
        "ree_concentrate_hardrock": world["ree_concentrate_hardrock"] * (float(prod["WLD"]) - ionic_t),
    }
    for e in ELEMENTS:
        total = sum(float(s.get(e, 0.0)) for s in supply.values())
        if total <= 0:
            continue
        shares = {k: float(s.get(e, 0.0)) / total for k, s in supply.items()}
        k = max(shares, key=lambda c: shares[c])
        other = next(c for c in shares if c != k)
        rows.append(
            {
                "output_commodity_id": f"ree_oxide_{e.lower()}",
                "input_commodity_id": k,
                "content_t_per_t": "1.0",
                "yield_fraction": YIELD["oxide"],
                "source_id": "usgs_myb2022_ree_t2",
                "basis": "derived",
                "note": f"Joint product allocated to the main source: 1 t {formula(e)} takes 1 t REO of {k}, the "
                f"deposit type that supplies {shares[k]:.1%} of the world's {e} ({YEAR} output x its world assay in "
                f"element_content, over both types); the {shares[other]:.1%} from {other} is not traced. A split "
                "input (x t of each) would make every oxide wait for the scarcer ore in the fixed-proportion "
                "model: a stop of Myanmar's clays would throttle La and Ce oxide. Yield 0.9 is an assumption "
                "(cracking, leaching and solvent-extraction recovery are not published).",
            }
        )
    for e in ELEMENTS:
        a, b = OXIDE[e]
        m_ox = a * ATOMIC_WEIGHT[e] + b * ATOMIC_WEIGHT["O"]
        rows.append(
            {
                "output_commodity_id": f"ree_metal_{e.lower()}",
                "input_commodity_id": f"ree_oxide_{e.lower()}",
                "content_t_per_t": f"{metal_content(e):.5f}",
                "yield_fraction": YIELD["metal"],
                "source_id": "ciaaw_atomic_weights",
                "basis": "derived",
                "note": f"Stoichiometry {formula(e)} -> {e}: M({formula(e)}) = {a}x{ATOMIC_WEIGHT[e]} + {b}x"
                f"{ATOMIC_WEIGHT['O']} = {m_ox:.3f}; {a}{e} = {a * ATOMIC_WEIGHT[e]:.3f}; ratio {metal_content(e):.5f} "
                "t oxide per t metal (CIAAW standard atomic weights). Yield 0.95 is an assumption (electrolytic "
                "reduction losses are not published).",
            }
        )
    for k, _, _, composition, _ in MAGNETS:
        for e, c in composition.items():
            rows.append(
                {
                    "output_commodity_id": k,
                    "input_commodity_id": f"ree_metal_{e.lower()}",
                    "content_t_per_t": f"{c:.6g}",
                    "yield_fraction": YIELD["magnet"],
                    "source_id": "heim_vanderwal_2023",
                    "basis": "derived",
                    "note": (
                        "Sm 25% of SmCo magnet mass: Sm2Co17 (23-25% Sm) dominates output, SmCo5 ~34%. "
                        if k == "smco_magnet"
                        else "NdFeB ~30% rare earths (29-32%, Heim & Vander Wal 2023), NdPr at 75:25; "
                        + (
                            "high-coercivity grades Dy ~4%, Tb 0.5-1% (0.75%) of magnet mass. "
                            if "Dy" in composition
                            else ""
                        )
                    )
                    + "Yield 0.784 = 1/(1+0.275): magnet scrap ~25-30% of output (argus_recycling_2025).",
                }
            )
    new = pd.DataFrame(rows)
    ree = {"ree_concentrate", "ree_oxide", "ree_metal", "ndfeb_magnet"}
    rest = old[
        ~old["output_commodity_id"].isin(ree) & ~old["output_commodity_id"].str.startswith(("ree_", "ndfeb_", "smco_"))
    ]
    return pd.concat([new.astype(str), rest], ignore_index=True)


def main() -> None:
    old_com = _read("commodities")
    production, trade = _read("production"), _read("trade")
    content = _read("element_content")
    rows, world = deposits(content, production)
    prod = production[(production["year"] == str(YEAR)) & (production["commodity_id"] == "ree_concentrate")]
    prod = prod.set_index("region_id")["production_t"].astype(float)
    split = concentrate_split(prod.drop("WLD"))
    _write("commodities", commodities(old_com))
    other = content[~content["commodity_id"].str.startswith("ree_concentrate")]
    _write("element_content", pd.concat([rows, other], ignore_index=True))
    _write("recipes", recipes(_read("recipes"), world, prod, split))
    _write("group_shares", group_shares(production, trade, world))


if __name__ == "__main__":
    main()
