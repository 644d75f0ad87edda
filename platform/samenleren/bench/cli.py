"""`flask --app samenleren bench generate --scale seed|national [--seed N]`."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

bench_cli = AppGroup("bench", help="Benchmark data sets (make bench).")


@bench_cli.command("generate")
@click.option(
    "--scale",
    "scale_name",
    type=click.Choice(["seed", "national", "tiny"]),
    required=True,
    help="seed: Flevoland (13 coaches, 160 learners); national: 400 tenants, 200,000 people; "
    "tiny: two small tenants (tests).",
)
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same data.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day the data set is generated around [today].",
)
@click.option("--issuer", default=None, help="OIDC issuer of every tenant [the manifest's].")
def generate_command(scale_name: str, seed: int, today, issuer: str | None) -> None:
    """Onboard the scale's tenants and fill them through COPY (into an empty database)."""
    from samenleren.bench.generate import GenerateError, describe_scale, generate, scale_named

    scale = scale_named(scale_name)
    click.echo(describe_scale(scale))
    day: date | None = today.date() if today else None
    try:
        report = generate(scale, seed=seed, today=day, issuer=issuer, progress=click.echo)
    except GenerateError as exc:
        raise click.ClickException(str(exc)) from None
    for table, count in sorted(report.rows.items()):
        click.echo(f"  {table:<24} {count:>10,}")
    click.echo(
        f"{report.tenants} tenants, {sum(report.rows.values()):,} rows in {report.seconds:.0f} s"
    )
