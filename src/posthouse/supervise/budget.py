"""The post budget and the cost report: estimates per account, actuals from invoices and from the pipeline.

Money is :class:`~decimal.Decimal` throughout (never float), rounded to cents half-up per item, so the report
adds up exactly: an account's actual = its imported invoices + its pipeline costs.

Files (``PROJECT/supervise/``):

- ``budget.csv``: ``account,description,estimate,committed`` (several lines per account allowed);
- ``invoices.csv``: ``date,vendor,invoice,account,amount,description`` (grows by ``import-invoices``).

Pipeline costs: every finished job in the catalog (``jobs`` table) is charged its wall-clock hours × the rate
its kind maps to (``[pipeline.kinds]`` in ``supervise.toml``); storage is the bytes under the project folder,
in decimal TB, × ``storage_tb_month`` × months held (whole months since ``start``, at least one).

The cost report's rule (stated, as accountants ask): **ETC** (estimate to complete) = max(estimate,
committed) − actual, never below zero; **EAC** (estimate at completion) = actual + ETC; **variance** =
estimate − EAC (negative: over budget).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posthouse.core.errors import UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.supervise.config import SUPERVISE_DIR, SuperviseConfig, supervise_dir

if TYPE_CHECKING:
    from posthouse.core.catalog import Catalog

__all__ = [
    "AccountLine",
    "BudgetError",
    "BudgetLine",
    "CostReport",
    "Invoice",
    "PipelineCost",
    "cost_report",
    "import_budget",
    "import_invoices",
    "load_budget",
    "load_invoices",
    "parse_budget_csv",
    "parse_invoices_csv",
    "parse_money",
    "pipeline_costs",
    "storage_bytes",
]

CENT = Decimal("0.01")
BUDGET_FILE = "budget.csv"
INVOICES_FILE = "invoices.csv"
BUDGET_COLUMNS = ("account", "description", "estimate", "committed")
INVOICE_COLUMNS = ("date", "vendor", "invoice", "account", "amount", "description")
RULE = "ETC = max(estimate, committed) - actual (>= 0); EAC = actual + ETC; variance = estimate - EAC"
_MONEY = re.compile(r"(-)?(?:(\d{1,3}(?:,\d{3})+)|(\d+))(?:\.(\d+))?")


class BudgetError(UsageError):
    """A budget or invoice file that cannot be taken: names the line and the reason."""


def parse_money(text: str) -> Decimal:
    """``"1,234.50"`` → ``Decimal("1234.50")``; an optional leading currency sign is allowed.

    Refuses anything else with the reason (``ValueError``): decimal commas, letters, more than two decimals.
    """
    raw = text.strip()
    s = raw.replace(" ", "")
    if s[:1] in "$€£¥" and s:
        s = s[1:]
    if s.startswith("-") and s[1:2] in "$€£¥" and len(s) > 1:
        s = "-" + s[2:]
    if not s:
        raise ValueError("empty amount")
    m = _MONEY.fullmatch(s)
    if not m:
        if re.fullmatch(r"-?\d+,\d{1,2}", s):
            raise ValueError(f"malformed amount '{raw}': decimal commas are not accepted (write 12.34)")
        raise ValueError(f"malformed amount '{raw}' (write 1234.56 or 1,234.56)")
    if m.group(4) is not None and len(m.group(4)) > 2:
        raise ValueError(f"malformed amount '{raw}': more than two decimals")
    digits = (m.group(2) or m.group(3)).replace(",", "")
    value = Decimal(digits + ("." + m.group(4) if m.group(4) else ""))
    return (-value if m.group(1) else value).quantize(CENT)


def _money_str(d: Decimal) -> str:
    return str(d.quantize(CENT))


@dataclass(frozen=True, slots=True)
class BudgetLine:
    """One budget line: account code, what it is, the estimate and what is committed (purchase orders)."""

    account: str
    description: str
    estimate: Decimal
    committed: Decimal = Decimal("0.00")
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Invoice:
    """One vendor invoice charged to an account."""

    account: str
    amount: Decimal
    date: date | None = None
    vendor: str = ""
    invoice: str = ""
    description: str = ""
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat() if self.date else None,
            "vendor": self.vendor,
            "invoice": self.invoice,
            "account": self.account,
            "amount": _money_str(self.amount),
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class PipelineCost:
    """A cost the pipeline itself incurred: a job's machine hours, or storage."""

    source: str
    account: str
    quantity: Decimal
    unit: str
    rate: Decimal
    amount: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "account": self.account,
            "quantity": str(self.quantity),
            "unit": self.unit,
            "rate": str(self.rate),
            "amount": _money_str(self.amount),
        }


def _account_code(text: str, accounts: Mapping[str, str]) -> str:
    t = text.strip()
    code = t.split()[0] if t else ""
    if code in accounts:
        return code
    by_name = {v.lower(): k for k, v in accounts.items()}
    if t.lower() in by_name:
        return by_name[t.lower()]
    known = ", ".join(f"{k} {v}" for k, v in accounts.items())
    raise ValueError(f"unknown account '{t}' (accounts: {known})")


def _rows(
    text: str, source: str | Path, columns: Sequence[str], required: Sequence[str]
) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if not header:
        raise BudgetError("empty file: no header line", path=source, where="line 1")
    reader.fieldnames = header
    unknown = [h for h in header if h not in columns]
    if unknown:
        raise BudgetError(
            f"unknown column(s) {', '.join(unknown)}",
            path=source,
            where="line 1",
            hint=f"columns: {', '.join(columns)}",
        )
    missing = [c for c in required if c not in header]
    if missing:
        raise BudgetError(f"missing column(s) {', '.join(missing)}", path=source, where="line 1")
    out: list[tuple[int, dict[str, str]]] = []
    for row in reader:
        if None in row:
            raise BudgetError("more fields than columns", path=source, where=f"line {reader.line_num}")
        vals = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        if any(vals.values()):
            out.append((reader.line_num, vals))
    return out


def _refuse(problems: list[str], source: str | Path) -> None:
    if problems:
        raise BudgetError(
            f"{len(problems)} bad line(s), nothing imported: " + "; ".join(problems),
            path=source,
            where=problems[0].split(":")[0],
        )


def parse_budget_csv(
    text: str, accounts: Mapping[str, str], *, source: str | Path = BUDGET_FILE
) -> list[BudgetLine]:
    """Budget lines from CSV text; every bad line is reported with its number and the reason."""
    lines: list[BudgetLine] = []
    problems: list[str] = []
    for n, r in _rows(text, source, BUDGET_COLUMNS, ("account", "estimate")):
        try:
            lines.append(
                BudgetLine(
                    account=_account_code(r["account"], accounts),
                    description=r.get("description", ""),
                    estimate=parse_money(r["estimate"]),
                    committed=parse_money(r["committed"]) if r.get("committed") else Decimal("0.00"),
                    line=n,
                )
            )
        except ValueError as exc:
            problems.append(f"line {n}: {exc}")
    _refuse(problems, source)
    return lines


def parse_invoices_csv(
    text: str, accounts: Mapping[str, str], *, source: str | Path = INVOICES_FILE
) -> list[Invoice]:
    """Invoices from CSV text; every bad line is reported with its number and the reason."""
    out: list[Invoice] = []
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for n, r in _rows(text, source, INVOICE_COLUMNS, ("account", "amount")):
        try:
            when = None
            if r.get("date"):
                try:
                    when = date.fromisoformat(r["date"])
                except ValueError:
                    raise ValueError(f"date '{r['date']}' is not YYYY-MM-DD") from None
            inv = Invoice(
                account=_account_code(r["account"], accounts),
                amount=parse_money(r["amount"]),
                date=when,
                vendor=r.get("vendor", ""),
                invoice=r.get("invoice", ""),
                description=r.get("description", ""),
                line=n,
            )
            if inv.invoice:
                key = (inv.vendor.lower(), inv.invoice)
                if key in seen:
                    raise ValueError(f"invoice {inv.vendor} {inv.invoice} already on line {seen[key]}")
                seen[key] = n
            out.append(inv)
        except ValueError as exc:
            problems.append(f"line {n}: {exc}")
    _refuse(problems, source)
    return out


def _read(source: str | Path) -> str:
    try:
        return Path(source).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BudgetError(
            f"not UTF-8 text (byte {exc.start})", path=source, hint="save the CSV as UTF-8"
        ) from None
    except OSError as exc:
        raise BudgetError(f"cannot read: {exc.strerror}", path=source) from None


def budget_csv(lines: Sequence[BudgetLine]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(BUDGET_COLUMNS)
    for b in lines:
        w.writerow([b.account, b.description, _money_str(b.estimate), _money_str(b.committed)])
    return buf.getvalue()


def invoices_csv(invoices: Sequence[Invoice]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(INVOICE_COLUMNS)
    for i in invoices:
        w.writerow(
            [
                i.date.isoformat() if i.date else "",
                i.vendor,
                i.invoice,
                i.account,
                _money_str(i.amount),
                i.description,
            ]
        )
    return buf.getvalue()


def load_budget(root: str | Path, config: SuperviseConfig) -> list[BudgetLine]:
    """The saved budget lines (none when there is no ``budget.csv``)."""
    path = supervise_dir(root) / BUDGET_FILE
    if not path.is_file():
        return []
    return parse_budget_csv(path.read_text(encoding="utf-8-sig"), config.accounts, source=path)


def load_invoices(root: str | Path, config: SuperviseConfig) -> list[Invoice]:
    """The saved invoices (none when there is no ``invoices.csv``)."""
    path = supervise_dir(root) / INVOICES_FILE
    if not path.is_file():
        return []
    return parse_invoices_csv(path.read_text(encoding="utf-8-sig"), config.accounts, source=path)


def import_budget(root: str | Path, source: str | Path, config: SuperviseConfig) -> list[BudgetLine]:
    """Replace ``budget.csv`` with the lines of ``source``; a bad file is refused and nothing changes."""
    lines = parse_budget_csv(_read(source), config.accounts, source=source)
    atomic_write_text(supervise_dir(root) / BUDGET_FILE, budget_csv(lines))
    return lines


def import_invoices(root: str | Path, source: str | Path, config: SuperviseConfig) -> list[Invoice]:
    """Add the invoices of ``source`` to ``invoices.csv``: all of them or, on any bad line, none.

    An invoice number already recorded for the same vendor is refused (no double charging).
    """
    new = parse_invoices_csv(_read(source), config.accounts, source=source)
    old = load_invoices(root, config)
    known = {(i.vendor.lower(), i.invoice): i.line for i in old if i.invoice}
    dup = [
        f"line {i.line}: invoice {i.vendor} {i.invoice} is already recorded"
        for i in new
        if i.invoice and (i.vendor.lower(), i.invoice) in known
    ]
    _refuse(dup, source)
    atomic_write_text(supervise_dir(root) / INVOICES_FILE, invoices_csv([*old, *new]))
    return new


def _hours(start: datetime, end: datetime) -> Decimal:
    d = end - start
    seconds = Decimal(d.days * 86400 + d.seconds) + Decimal(d.microseconds) / Decimal(1_000_000)
    return seconds / Decimal(3600)


def _kind_rate(kind: str, kinds: Mapping[str, tuple[str, str]]) -> tuple[str, str] | None:
    k = kind.lower()
    for prefix in sorted(kinds, key=len, reverse=True):
        if k.startswith(prefix.lower()):
            return kinds[prefix]
    tokens = set(re.split(r"[^a-z0-9]+", k))
    for prefix in sorted(kinds, key=len, reverse=True):
        if prefix.lower() in tokens:
            return kinds[prefix]
    return None


def storage_bytes(root: str | Path) -> int:
    """Bytes of every file under the project folder (the catalog and the supervise files left out)."""
    total = 0
    skip = {".posthouse", SUPERVISE_DIR}
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == Path(root):
            dirnames[:] = [d for d in dirnames if d not in skip]
        for f in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                continue
    return total


def _storage_months(config: SuperviseConfig, as_of: date) -> Decimal:
    if config.storage_months is not None:
        return config.storage_months
    if config.start is None:
        return Decimal(1)
    days = (as_of - config.start).days
    return Decimal(max(1, math.ceil(days / 30)))


def pipeline_costs(
    catalog: Catalog | None,
    config: SuperviseConfig,
    *,
    root: str | Path | None = None,
    as_of: date | None = None,
) -> tuple[list[PipelineCost], list[str]]:
    """Costs from the catalog's finished jobs (hours × rate) and the project's storage.

    Returns the costs and notes on what was not charged (running jobs, kinds with no rate).
    """
    from sqlalchemy import select

    from posthouse.core.catalog import JobRecord, as_utc

    costs: list[PipelineCost] = []
    notes: list[str] = []
    if catalog is not None:
        with catalog.session() as s:
            jobs = list(s.scalars(select(JobRecord).order_by(JobRecord.id)))
        for j in jobs:
            mapping = _kind_rate(j.kind, config.kinds)
            if mapping is None:
                notes.append(f"job {j.id} ({j.kind}): no rate for this kind — add it to [pipeline.kinds]")
                continue
            if j.finished_at is None:
                notes.append(f"job {j.id} ({j.kind}) is {j.state}: charged when it finishes")
                continue
            hours = max(Decimal(0), _hours(as_utc(j.started_at), as_utc(j.finished_at)))
            rate_name, account = mapping
            rate = config.rate(rate_name)
            costs.append(
                PipelineCost(
                    source=f"job {j.id} {j.kind} ({j.state})",
                    account=account,
                    quantity=hours.quantize(Decimal("0.0001"), ROUND_HALF_UP),
                    unit="hour",
                    rate=rate,
                    amount=(hours * rate).quantize(CENT, ROUND_HALF_UP),
                )
            )
    if root is not None:
        size = storage_bytes(root)
        tb = Decimal(size) / Decimal(10**12)
        months = _storage_months(config, as_of or date.today())
        rate = config.rate("storage_tb_month")
        costs.append(
            PipelineCost(
                source=f"storage {size} bytes × {months} month(s)",
                account="5700" if "5700" in config.accounts else next(iter(config.accounts)),
                quantity=(tb * months).quantize(Decimal("0.000001"), ROUND_HALF_UP),
                unit="TB-month",
                rate=rate,
                amount=(tb * months * rate).quantize(CENT, ROUND_HALF_UP),
            )
        )
    return costs, notes


@dataclass(frozen=True, slots=True)
class AccountLine:
    """One account of the cost report."""

    code: str
    name: str
    estimate: Decimal
    committed: Decimal
    invoiced: Decimal
    pipeline: Decimal

    @property
    def actual(self) -> Decimal:
        return self.invoiced + self.pipeline

    @property
    def etc(self) -> Decimal:
        """Estimate to complete: max(estimate, committed) − actual, not below zero."""
        return max(Decimal("0.00"), max(self.estimate, self.committed) - self.actual)

    @property
    def eac(self) -> Decimal:
        """Estimate at completion: actual + ETC."""
        return self.actual + self.etc

    @property
    def variance(self) -> Decimal:
        """Estimate − EAC: negative when the account will overrun."""
        return self.estimate - self.eac

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.code,
            "name": self.name,
            "estimate": _money_str(self.estimate),
            "committed": _money_str(self.committed),
            "invoiced": _money_str(self.invoiced),
            "pipeline": _money_str(self.pipeline),
            "actual": _money_str(self.actual),
            "etc": _money_str(self.etc),
            "eac": _money_str(self.eac),
            "variance": _money_str(self.variance),
        }


@dataclass(frozen=True, slots=True)
class CostReport:
    """Per-account and total cost report, with what it was built from."""

    currency: str
    as_of: date
    accounts: tuple[AccountLine, ...]
    invoices: tuple[Invoice, ...] = ()
    pipeline: tuple[PipelineCost, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def totals(self) -> dict[str, Decimal]:
        """Column sums over the accounts (ETC, EAC and variance summed per account, not recomputed)."""
        cols = ("estimate", "committed", "invoiced", "pipeline", "actual", "etc", "eac", "variance")
        return {c: sum((getattr(a, c) for a in self.accounts), Decimal("0.00")) for c in cols}

    def to_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "as_of": self.as_of.isoformat(),
            "rule": RULE,
            "accounts": [a.to_dict() for a in self.accounts],
            "total": {"account": "", "name": "Total", **{k: _money_str(v) for k, v in self.totals.items()}},
            "invoices": [i.to_dict() for i in self.invoices],
            "pipeline": [p.to_dict() for p in self.pipeline],
            "notes": list(self.notes),
        }

    def to_csv(self) -> str:
        """The per-account table plus a total line, as CSV."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        cols = [
            "account",
            "name",
            "estimate",
            "committed",
            "invoiced",
            "pipeline",
            "actual",
            "etc",
            "eac",
            "variance",
        ]
        w.writerow(cols)
        for a in self.accounts:
            d = a.to_dict()
            w.writerow([d[c] for c in cols])
        tot = {"account": "", "name": "Total", **{k: _money_str(v) for k, v in self.totals.items()}}
        w.writerow([tot[c] for c in cols])
        return buf.getvalue()


def cost_report(
    root: str | Path,
    config: SuperviseConfig,
    *,
    catalog: Catalog | None = None,
    as_of: date | None = None,
    storage: bool = True,
) -> CostReport:
    """The cost report of the project at ``root``: budget lines, invoices and pipeline costs per account."""
    when = as_of or date.today()
    lines = load_budget(root, config)
    invoices = load_invoices(root, config)
    costs, notes = pipeline_costs(catalog, config, root=root if storage else None, as_of=when)
    accounts: list[AccountLine] = []
    codes = dict(config.accounts)
    for extra in {c.account for c in costs} - set(codes):
        codes[extra] = f"account {extra}"
    for code, name in sorted(codes.items()):
        accounts.append(
            AccountLine(
                code,
                name,
                sum((b.estimate for b in lines if b.account == code), Decimal("0.00")),
                sum((b.committed for b in lines if b.account == code), Decimal("0.00")),
                sum((i.amount for i in invoices if i.account == code), Decimal("0.00")),
                sum((c.amount for c in costs if c.account == code), Decimal("0.00")),
            )
        )
    return CostReport(config.currency, when, tuple(accounts), tuple(invoices), tuple(costs), tuple(notes))
