"""The ``baseline`` command: the reconciled base year's residual report.

It opens the dataset, reconciles the material's base year (:func:`chokepoint.baseyear.reconcile`)
and prints every target with its source, reported and reconciled value, residual and weight,
then the summary: the share of targets within 5% and 10% and the worst ten with their reason.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from chokepoint.cli._common import (
    DatasetOption,
    DbOption,
    FormatOption,
    OutputFormat,
    YearOption,
    open_dataset,
    print_table,
    records,
    write_json,
)


def baseline(
    year: YearOption = 2024,
    material: Annotated[str, typer.Option("--material", "-m", help="Material whose base year is reconciled.")] = (
        "rare_earths"
    ),
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
    dataset: DatasetOption = None,
) -> None:
    """The reconciled base year: every target, its residual and weight, and the fit's summary."""
    from chokepoint.baseyear import reconcile
    from chokepoint.baseyear.residuals import residual_report

    with open_dataset(db, dataset) as ds:
        report = residual_report(reconcile(ds, material, year))
    s = report.summary
    if fmt is OutputFormat.json:
        write_json(
            {
                "material": material,
                "year": year,
                "summary": {"targets": s.targets, "within_5pct": s.within_5pct, "within_10pct": s.within_10pct},
                "worst": records(s.worst),
                "targets": records(report.table),
            }
        )
    elif fmt is OutputFormat.csv:
        sys.stdout.write(report.table.to_csv(index=False))
    else:
        shown = report.table.drop(columns=["target_id", "sense"])
        print_table(shown, title=f"{material} {year}: reconciled base year, every target")
        print_table(
            s.as_table().reset_index(),
            title=f"Fit summary: {100 * s.within_10pct:.1f}% of {s.targets} targets within 10%, "
            f"{100 * s.within_5pct:.1f}% within 5%",
        )
        print_table(
            s.worst[["target_id", "reported", "reconciled", "residual_pct", "weight", "reason"]], title="Worst ten"
        )
