"""flexible shell and staffing history

A team's external staff (the flexible shell, "flexibele schil") is now told apart: hired staff
(inhuur, ``fte_hired_tenths``) and partners (``fte_partner_tenths``). Until now there was one column
for both, ``fte_external_tenths``; its FTE are carried over as **hired staff** (the larger part of
the shell, and the one the strategy wants to shrink) and every team starts with 0 partner FTE, so
each team's external total, and every external share, is what it was. Owners then move partner FTE
out of hired where that is what they have. Downgrading adds the two back together.

Each chain may carry its own limit on its external share (``external_share_limit_tenths``, tenths of
a percent; null: the service's default, ``IV_VALUECHAINS_EXTERNAL_SHARE_LIMIT``).

``team_revisions`` keeps what every team looked like from each of its versions on, for the staffing
history and the maturity over time. It is filled here from the change feed, which holds every
team's revisions: each team's events are folded in order (created with every field, updated with the
fields that changed, archived), one row per event, valid from the event's time; the external FTE of
those events count as hired, as above. A team whose events do not reach its current version (none
should) gets a row for its current state from its ``updated_at``.

Revision ID: fbb402dd51a1
Revises: 1a7c3e5d9b01
Create Date: 2026-12-01 14:48:23.992030+00:00
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import services.chassis.db

revision: str = "fbb402dd51a1"
down_revision: str | None = "1a7c3e5d9b01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEAMS_PREFIX = "/valuechains/v1/teams/"
CHAINS_PREFIX = "/valuechains/v1/chains/"

# The tables as this revision finds and leaves them (not the models, which move on).
teams = sa.table(
    "teams",
    sa.column("id", sa.String),
    sa.column("version", sa.Integer),
    sa.column("updated_at", services.chassis.db.UTCDateTime),
    sa.column("chain_id", sa.String),
    sa.column("fte_internal_tenths", sa.Integer),
    sa.column("fte_hired_tenths", sa.Integer),
    sa.column("fte_partner_tenths", sa.Integer),
    sa.column("maturity", sa.Integer),
    sa.column("status", sa.String),
)
team_revisions = sa.table(
    "team_revisions",
    sa.column("team_id", sa.String),
    sa.column("version", sa.Integer),
    sa.column("valid_from", services.chassis.db.UTCDateTime),
    sa.column("chain_id", sa.String),
    sa.column("fte_internal_tenths", sa.Integer),
    sa.column("fte_hired_tenths", sa.Integer),
    sa.column("fte_partner_tenths", sa.Integer),
    sa.column("maturity", sa.Integer),
    sa.column("status", sa.String),
)
change_events = sa.table(
    "change_events",
    sa.column("seq", sa.Integer),
    sa.column("subject", sa.String),
    sa.column("at", services.chassis.db.UTCDateTime),
    sa.column("version", sa.Integer),
    sa.column("changes", sa.Text),
)


def tenths(value: Any) -> int:
    return round(float(value) * 10)


def revisions_from_feed(connection: sa.Connection) -> list[dict[str, Any]]:
    """Every team's revisions, folded from its change events in feed order."""
    events = connection.execute(
        sa.select(change_events.c.subject, change_events.c.at, change_events.c.version, change_events.c.changes)
        .where(change_events.c.subject.like(TEAMS_PREFIX + "%"))
        .order_by(change_events.c.seq)
    )
    state: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for subject, at, version, changes in events:
        team_id = subject.removeprefix(TEAMS_PREFIX)
        if "/" in team_id:
            continue
        current = state.setdefault(team_id, {})
        current.update({field: pair[1] for field, pair in json.loads(changes).items()})
        chain = current.get("chain")
        if not isinstance(chain, dict) or not {"fte_internal", "fte_external", "maturity"} <= current.keys():
            continue  # not a whole team (a feed that does not start at its creation)
        rows.append(
            {
                "team_id": team_id,
                "version": version,
                "valid_from": at,
                "chain_id": str(chain["href"]).removeprefix(CHAINS_PREFIX),
                "fte_internal_tenths": tenths(current["fte_internal"]),
                "fte_hired_tenths": tenths(current["fte_external"]),
                "fte_partner_tenths": 0,
                "maturity": int(current["maturity"]),
                "status": current.get("status") or "active",
            }
        )
    return rows


def upgrade() -> None:
    with op.batch_alter_table("chains", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_share_limit_tenths", sa.Integer(), nullable=True))

    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fte_hired_tenths", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("fte_partner_tenths", sa.Integer(), nullable=True))
    op.execute("UPDATE teams SET fte_hired_tenths = fte_external_tenths, fte_partner_tenths = 0")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_teams_fte_external_non_negative"), type_="check")
        batch_op.drop_column("fte_external_tenths")
        batch_op.alter_column("fte_hired_tenths", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("fte_partner_tenths", existing_type=sa.Integer(), nullable=False)
        batch_op.create_check_constraint(batch_op.f("ck_teams_fte_hired_non_negative"), "fte_hired_tenths >= 0")
        batch_op.create_check_constraint(batch_op.f("ck_teams_fte_partner_non_negative"), "fte_partner_tenths >= 0")

    op.create_table(
        "team_revisions",
        sa.Column("team_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("valid_from", services.chassis.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("chain_id", sa.String(length=36), nullable=False),
        sa.Column("fte_internal_tenths", sa.Integer(), nullable=False),
        sa.Column("fte_hired_tenths", sa.Integer(), nullable=False),
        sa.Column("fte_partner_tenths", sa.Integer(), nullable=False),
        sa.Column("maturity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_team_revisions_team_id_teams")),
        sa.PrimaryKeyConstraint("team_id", "version", name=op.f("pk_team_revisions")),
    )
    with op.batch_alter_table("team_revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_revisions_chain_id"), ["chain_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_team_revisions_valid_from"), ["valid_from"], unique=False)

    connection = op.get_bind()
    current = {row.id: row for row in connection.execute(sa.select(teams))}
    rows = [row for row in revisions_from_feed(connection) if row["team_id"] in current]
    latest = {row["team_id"]: row["version"] for row in rows}
    for team_id, team in current.items():
        if latest.get(team_id) != team.version:
            rows = [row for row in rows if not (row["team_id"] == team_id and row["version"] >= team.version)]
            rows.append(
                {
                    "team_id": team_id,
                    "version": team.version,
                    "valid_from": team.updated_at,
                    "chain_id": team.chain_id,
                    "fte_internal_tenths": team.fte_internal_tenths,
                    "fte_hired_tenths": team.fte_hired_tenths,
                    "fte_partner_tenths": team.fte_partner_tenths,
                    "maturity": team.maturity,
                    "status": team.status,
                }
            )
    if rows:
        op.bulk_insert(team_revisions, rows)


def downgrade() -> None:
    with op.batch_alter_table("team_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_revisions_valid_from"))
        batch_op.drop_index(batch_op.f("ix_team_revisions_chain_id"))
    op.drop_table("team_revisions")

    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fte_external_tenths", sa.Integer(), nullable=True))
    op.execute("UPDATE teams SET fte_external_tenths = fte_hired_tenths + fte_partner_tenths")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_teams_fte_hired_non_negative"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_teams_fte_partner_non_negative"), type_="check")
        batch_op.drop_column("fte_partner_tenths")
        batch_op.drop_column("fte_hired_tenths")
        batch_op.alter_column("fte_external_tenths", existing_type=sa.Integer(), nullable=False)
        batch_op.create_check_constraint(batch_op.f("ck_teams_fte_external_non_negative"), "fte_external_tenths >= 0")

    # Not a batch operation: SQLite would rebuild the table, and cannot drop one that teams,
    # allocations and applications point at. Both databases drop a column in place.
    op.execute("ALTER TABLE chains DROP COLUMN external_share_limit_tenths")
