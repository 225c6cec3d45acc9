"""'ivctl': the platform's API from the shell.

Exit codes: 0 done; 1 the platform refused the request (a 4xx problem other than a conflict);
2 the command was used wrongly (an unknown option, a file that cannot be read); 3 the platform could
not be reached or failed (a connection error or a 5xx); 4 a conflict (409: the resource's state
forbids it; 412: someone changed it since it was read); 5 a change feed did not verify.
Errors print the problem's title, detail and field errors, never a traceback.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import sqlite3
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import httpx2
import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from iv_client import config as settings
from iv_client.auth import dev_token
from iv_client.client import Client, RetryPolicy
from iv_client.errors import ConflictError, IVConnectionError, IVError, ProblemError
from iv_client.follower import Follower
from iv_client.models import Change, collection_of

OK, PROBLEM, USAGE, UNREACHABLE, CONFLICT, UNVERIFIED = 0, 1, 2, 3, 4, 5

EXIT_CODES = (
    "Exit codes: 0 done; 1 the platform refused the request (4xx); 2 wrong use of the command;"
    " 3 the platform unreachable or failing (5xx); 4 a conflict (409, 412); 5 a feed that does not verify."
)

app = typer.Typer(
    help="The IV-platform's API from the shell.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
ebos = typer.Typer(help="Register and keep EBOs current.", no_args_is_help=True)
changes = typer.Typer(help="A service's change feed.", no_args_is_help=True)
register = typer.Typer(help="The comply-or-explain register.", no_args_is_help=True)
app.add_typer(ebos, name="ebos")
app.add_typer(changes, name="changes")
app.add_typer(register, name="register")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class Output(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


@dataclass
class State:
    """What the commands share: the settings, and (tests) a transport instead of the network."""

    url: str | None = None
    token: str | None = None
    transport: httpx2.BaseTransport | None = None
    retry: RetryPolicy | None = None
    client: Client | None = field(default=None, repr=False)

    def url_now(self) -> str:
        return self.url or settings.load().url

    def connect(self) -> Client:
        if self.client is None:
            self.client = Client.from_config(url=self.url, token=self.token, transport=self.transport, retry=self.retry)
        return self.client


P = ParamSpec("P")
T = TypeVar("T")


def reported(command: Callable[P, T]) -> Callable[P, T]:
    """Problems as a few plain lines and an exit code, never a traceback."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except ProblemError as problem:
            err.print(f"[bold red]{problem.status} {problem.title}[/]: {problem.detail}", markup=True, highlight=False)
            for line in problem.field_errors():
                err.print(f"  {line}", markup=False, highlight=False)
            if problem.allowed is not None:
                err.print(f"  allowed: {', '.join(problem.allowed) or '(none)'}", markup=False)
            if isinstance(problem, ConflictError) and problem.current_version is not None:
                err.print(f"  current version: {problem.current_version}", markup=False)
            code = CONFLICT if isinstance(problem, ConflictError) else UNREACHABLE if problem.status >= 500 else PROBLEM
            raise typer.Exit(code) from None
        except IVConnectionError as exc:
            err.print(f"[bold red]cannot reach the platform[/]: {exc}", highlight=False)
            raise typer.Exit(UNREACHABLE) from None
        except IVError as exc:
            err.print(f"[bold red]error[/]: {exc}", highlight=False)
            raise typer.Exit(PROBLEM) from None
        except (OSError, tomllib.TOMLDecodeError) as exc:  # a config or secret file, a file to write
            err.print(f"[bold red]cannot use a file[/]: {exc}", highlight=False)
            raise typer.Exit(USAGE) from None

    return run


def state_of(ctx: typer.Context) -> State:
    state = ctx.ensure_object(State)
    assert isinstance(state, State)
    return state


@app.callback()
def main_options(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option(help="The gateway's URL (else IV_URL, the config file).")] = None,
    token: Annotated[str | None, typer.Option(help="A bearer token (else IV_TOKEN, the config file).")] = None,
) -> None:
    state = state_of(ctx)
    state.url = url or state.url
    state.token = token or state.token


def usage(message: str) -> typer.Exit:
    err.print(f"[bold red]usage[/]: {message}", highlight=False)
    return typer.Exit(USAGE)


def pairs(values: list[str] | None, what: str) -> list[tuple[str, str]]:
    found = []
    for value in values or []:
        name, sep, given = value.partition("=")
        if not sep or not name:
            raise usage(f"{what} takes NAME=VALUE, not {value!r}")
        found.append((name.strip(), given))
    return found


def parsed(value: str) -> Any:
    """A --set value: JSON where it is JSON (180, null, true, {"href": ...}), else the text itself."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def plain(item: Any) -> Any:
    """A model as the JSON it was read from (nothing the platform did not send)."""
    return item.model_dump(mode="json", exclude_unset=True) if isinstance(item, BaseModel) else item


def flat(item: Any, prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted columns ('owner.name'), lists of plain values joined with ';'."""
    row: dict[str, Any] = {}
    for key, value in plain(item).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            row.update(flat(value, f"{name}."))
        elif isinstance(value, list):
            row[name] = ";".join(json.dumps(v) if isinstance(v, dict | list) else str(v) for v in value)
        else:
            row[name] = value
    return row


TABLE_COLUMNS = ("code", "name", "title", "unit", "status", "version", "href")


def print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


def show(items: list[Any], output: Output) -> None:
    rows = [flat(item) for item in items]
    if output is Output.json:
        print_json([plain(item) for item in items])
    elif output is Output.csv:
        columns = list(dict.fromkeys(column for row in rows for column in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        out.file.write(buffer.getvalue())
    else:
        present = ([c for c in TABLE_COLUMNS if any(c in row for row in rows)] or list(rows[0])) if rows else []
        out.print(table_of(present, [["" if row.get(c) is None else str(row.get(c)) for c in present] for row in rows]))


def table_of(columns: list[str], rows: list[list[str]], *, title: str | None = None) -> Table:
    """A table whose hrefs are shown whole (they are what one copies from it); other columns wrap."""
    table = Table(title=title)
    for index, column in enumerate(columns):
        values = [row[index] for row in rows]
        if any(value.startswith("/") for value in values):
            table.add_column(column, no_wrap=True, min_width=max(map(len, values)))
        else:
            table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


# commands


@app.command()
@reported
def login(
    ctx: typer.Context,
    role: Annotated[list[str] | None, typer.Option(help="Development: a role of the token (repeatable).")] = None,
    sub: Annotated[str | None, typer.Option(help="Development: who the token is for.")] = None,
    unit: Annotated[str | None, typer.Option(help="Development: the token's unit.")] = None,
    clearance: Annotated[str | None, typer.Option(help="Development: the token's clearance.")] = None,
    name: Annotated[str | None, typer.Option(help="Development: the holder's name.")] = None,
    checkout: Annotated[
        Path | None, typer.Option(help="Development: the platform's checkout (default: $IV_CHECKOUT, else here).")
    ] = None,
    token: Annotated[str | None, typer.Option("--with-token", help="Store this token instead.")] = None,
) -> None:
    """Store the platform's URL and a token in the config file. In development the token is made by
    the platform's checkout, as 'make token' makes one; elsewhere pass one with --with-token (or
    configure client credentials in the file)."""
    state = state_of(ctx)
    try:
        issued = token or dev_token(
            role or ["reader"], sub=sub, unit=unit, clearance=clearance, name=name, checkout=checkout
        )
    except RuntimeError as exc:
        raise usage(str(exc)) from None
    path = settings.config_path()
    settings.save(path, {"url": state.url_now(), "token": issued})
    err.print(f"token stored in {path}", highlight=False)


@app.command()
@reported
def get(
    ctx: typer.Context,
    href: str,
    expand: Annotated[list[str] | None, typer.Option(help="References to resolve (repeatable; a.b for depth).")] = None,
    include: Annotated[list[str] | None, typer.Option(help="What points at it, to embed (repeatable).")] = None,
) -> None:
    """Print the resource at HREF as JSON."""
    print_json(plain(state_of(ctx).connect().get(href, expand=expand or (), include=include or ())))


@app.command("list")
@reported
def list_(
    ctx: typer.Context,
    collection: str,
    filter: Annotated[list[str] | None, typer.Option(help="NAME=VALUE (repeatable; a name twice: either).")] = None,
    all: Annotated[bool, typer.Option("--all", help="Every page, not just the first.")] = False,
    limit: Annotated[int | None, typer.Option(help="Items per page (1..100).")] = None,
    expand: Annotated[list[str] | None, typer.Option(help="References to resolve (repeatable).")] = None,
    output: Annotated[Output, typer.Option(help="table, json or csv.")] = Output.table,
) -> None:
    """List COLLECTION ('/portfolio/v1/ebos'), filtered."""
    filters: dict[str, list[str]] = {}
    for name, value in pairs(filter, "--filter"):
        filters.setdefault(name, []).append(value)
    client = state_of(ctx).connect()
    pages = client.pages(collection, filters=filters, expand=expand or (), limit=limit)
    items = [item for page in pages for item in page.items] if all else next(iter(pages)).items
    show(items, output)


@ebos.command("register")
@reported
def ebos_register(ctx: typer.Context, file: Annotated[str, typer.Argument(help="A JSON file ('-': stdin).")]) -> None:
    """Register the EBO described in FILE (JSON, as in the API: name, unit, hosting, ...)."""
    try:
        text = typer.get_text_stream("stdin").read() if file == "-" else Path(file).read_text()
        body = json.loads(text)
    except (OSError, ValueError) as exc:
        raise usage(f"cannot read {file}: {exc}") from None
    registered = state_of(ctx).connect().register_ebo(body)
    out.print(f"registered {registered.href} (version {registered.version})", highlight=False)
    if registered.likely_duplicates:
        twins = [[twin.href, twin.kind, twin.name, f"{twin.score:.0f}"] for twin in registered.likely_duplicates]
        out.print(table_of(["looks like", "kind", "name", "score"], twins, title="Likely duplicates"))


@ebos.command("update")
@reported
def ebos_update(
    ctx: typer.Context,
    href: str,
    set: Annotated[list[str], typer.Option("--set", help="FIELD=VALUE (repeatable; JSON values as JSON).")],
) -> None:
    """Change fields of the EBO at HREF, with If-Match from the version read just before."""
    changes: dict[str, Any] = {}
    for name, value in pairs(set, "--set"):
        target = changes
        *parents, leaf = name.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = parsed(value)
    updated = state_of(ctx).connect().update(href, changes)
    out.print(f"updated {updated.href} (version {updated.version})", highlight=False)


@changes.command("follow")
@reported
def changes_follow(
    ctx: typer.Context,
    service: str,
    from_: Annotated[
        int | None,
        typer.Option(
            "--from", help="Start after this seq (default: now; 0: the beginning), unless --state has a place."
        ),
    ] = None,
    state: Annotated[Path | None, typer.Option(help="SQLite file to keep the cursor in, to resume.")] = None,
    type: Annotated[str | None, typer.Option(help="Only events of this type (chains.updated).")] = None,
    count: Annotated[int | None, typer.Option(help="Stop after this many events.")] = None,
    output: Annotated[Output, typer.Option(help="table (a line per event) or json (one per line).")] = Output.table,
) -> None:
    """Print SERVICE's changes as they happen, until Ctrl-C."""

    def print_event(event: Change) -> None:
        if output is Output.json:
            out.file.write(event.model_dump_json() + "\n")
            out.file.flush()
        else:
            fields_ = ", ".join(event.changes) or "-"
            out.print(f"{event.seq:>6} {event.at} {event.type:<24} {event.subject} by {event.actor}: {fields_}")

    try:
        follower = Follower(
            state_of(ctx).connect(), service, state or ":memory:", start="now" if from_ is None else from_, type=type
        )
    except sqlite3.Error as exc:
        raise usage(f"the follower cannot keep its place in {state}: {exc}") from None
    try:
        follower.run(print_event, max_events=count)
    except KeyboardInterrupt:
        pass
    finally:
        follower.close()


@app.command()
@reported
def evaluate(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="An href, or a collection (each of its resources is evaluated).")],
    filter: Annotated[list[str] | None, typer.Option(help="NAME=VALUE on the collection (repeatable).")] = None,
) -> None:
    """Evaluate a resource, or each resource of a collection, against the principles."""
    client = state_of(ctx).connect()
    filters: dict[str, list[str]] = {}
    for name, value in pairs(filter, "--filter"):
        filters.setdefault(name, []).append(value)
    path = target.split("?", 1)[0].rstrip("/")
    subjects = [item.href for item in client.list(path, filters=filters)] if collection_of(path) == path else [target]
    totals = {"complies": 0, "deviates": 0, "explained": 0, "error": 0}
    deviating: list[str] = []
    columns = (TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("evaluate", total=len(subjects))
        for href in subjects:
            summary = client.evaluate(href).summary
            for name in totals:
                totals[name] += getattr(summary, name)
            if summary.deviates:
                deviating.append(href)
            progress.advance(task)
    table = Table("evaluated", *totals)
    table.add_row(str(len(subjects)), *(str(v) for v in totals.values()))
    out.print(table)
    for href in deviating:
        out.print(f"deviates: {href}", highlight=False)


@register.command("export")
@reported
def register_export(
    ctx: typer.Context,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV, as for a spreadsheet (default JSON).")] = False,
    year: Annotated[int | None, typer.Option(help="Only explanations asked in this year.")] = None,
    status: Annotated[list[str] | None, typer.Option(help="Only these statuses (repeatable).")] = None,
    to: Annotated[Path | None, typer.Option("--to", help="Write to this file instead of the screen.")] = None,
) -> None:
    """Export the comply-or-explain register (principles' explanations)."""
    filters: dict[str, Any] = {}
    if year is not None:
        filters["year"] = year
    if status:
        filters["status"] = status
    exported = state_of(ctx).connect().register_export(as_csv=as_csv, filters=filters)
    text = exported if as_csv else json.dumps(exported, indent=2) + "\n"
    if to is not None:
        to.write_text(text)
        err.print(f"written to {to}", highlight=False)
    else:
        out.file.write(text)


@app.command()
@reported
def verify(ctx: typer.Context, service: str) -> None:
    """Verify SERVICE's change feed against its signed checkpoints and witnesses (auditors)."""
    result = state_of(ctx).connect().verify(service)
    if result.get("ok"):
        out.print(
            f"{service}: the change feed verifies ({result.get('count')} events, {result.get('scope')})",
            highlight=False,
        )
        return
    err.print(f"[bold red]{service}: the change feed does not verify[/]", highlight=False)
    for finding in result.get("findings", []):
        err.print(f"  {json.dumps(finding)}", markup=False, highlight=False)
    raise typer.Exit(UNVERIFIED)


def main() -> None:
    app()
