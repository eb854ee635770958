"""Post supervision settings: ``PROJECT/supervise/supervise.toml`` (currency, rates, calendar, dates).

::

    currency = "USD"
    calendar = "working"          # "working" (Mon–Fri, minus holidays) or "calendar" (every day)
    holidays = ["2027-05-31"]
    delivery = 2027-06-15         # the delivery date every task must meet
    start = 2027-01-04            # project start: storage is charged from here
    at_risk_days = 5              # float below this flags a task at risk

    [rates]                       # money per unit, as strings (Decimal, never float)
    render_hour = "12.00"
    encode_hour = "6.00"
    storage_tb_month = "25.00"

    [pipeline.kinds]              # job kind prefix -> [rate name, account code]
    render = ["render_hour", "5500"]

    [accounts]                    # extra or renamed accounts (code -> name)
    5800 = "Titles & graphics"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import tomli_w

from posthouse.core.errors import ProjectError
from posthouse.core.fsutil import atomic_write_text

__all__ = [
    "DEFAULT_ACCOUNTS",
    "DEFAULT_KINDS",
    "DEFAULT_RATES",
    "SUPERVISE_DIR",
    "SuperviseConfig",
    "load_config",
    "save_config",
    "supervise_dir",
]

SUPERVISE_DIR = "supervise"
CONFIG_FILE = "supervise.toml"

# the trade's post accounts (a feature's "below the line" post section)
DEFAULT_ACCOUNTS: dict[str, str] = {
    "5100": "Editorial labor",
    "5200": "Post sound",
    "5300": "Music",
    "5400": "VFX",
    "5500": "Finishing & color",
    "5600": "Deliverables",
    "5700": "Facilities & storage",
}

DEFAULT_RATES: dict[str, Decimal] = {
    "render_hour": Decimal("12.00"),
    "encode_hour": Decimal("6.00"),
    "storage_tb_month": Decimal("25.00"),
}

# job kind prefix -> (rate name, account code): the first prefix that matches wins (longest first).
DEFAULT_KINDS: dict[str, tuple[str, str]] = {
    "offload": ("encode_hour", "5100"),
    "catalog": ("encode_hour", "5100"),
    "editorial": ("render_hour", "5100"),
    "dailies": ("encode_hour", "5100"),
    "transcode": ("encode_hour", "5100"),
    "sync": ("encode_hour", "5100"),
    "mix": ("render_hour", "5200"),
    "sound": ("render_hour", "5200"),
    "score": ("render_hour", "5300"),
    "vfx": ("render_hour", "5400"),
    "composite": ("render_hour", "5400"),
    "conform": ("render_hour", "5500"),
    "finish": ("render_hour", "5500"),
    "grade": ("render_hour", "5500"),
    "render": ("render_hour", "5500"),
    "encode": ("encode_hour", "5600"),
    "deliver": ("encode_hour", "5600"),
    "dcp": ("encode_hour", "5600"),
    "streaming": ("encode_hour", "5600"),
    "qc": ("encode_hour", "5600"),
    "archive": ("encode_hour", "5700"),
}


@dataclass(frozen=True, slots=True)
class SuperviseConfig:
    """Money and calendar settings for the schedule and the cost report."""

    currency: str = "USD"
    working_days: bool = True
    holidays: tuple[date, ...] = ()
    delivery: date | None = None
    start: date | None = None
    at_risk_days: int = 5
    storage_months: Decimal | None = None  # None: months since ``start`` (at least one)
    rates: dict[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_RATES))
    kinds: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(DEFAULT_KINDS))
    accounts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ACCOUNTS))

    def rate(self, name: str) -> Decimal:
        """The rate called ``name`` (an unknown name is a ProjectError naming the file)."""
        try:
            return self.rates[name]
        except KeyError:
            raise ProjectError(
                f"no rate '{name}' in [rates]", path=CONFIG_FILE, hint=f'add {name} = "0.00"'
            ) from None

    def with_dates(self, *, delivery: date | None = None, start: date | None = None) -> SuperviseConfig:
        return replace(self, delivery=delivery or self.delivery, start=start or self.start)

    def to_toml(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "currency": self.currency,
            "calendar": "working" if self.working_days else "calendar",
            "holidays": [d.isoformat() for d in self.holidays],
            "at_risk_days": self.at_risk_days,
        }
        if self.delivery:
            doc["delivery"] = self.delivery
        if self.start:
            doc["start"] = self.start
        if self.storage_months is not None:
            doc["storage_months"] = str(self.storage_months)
        doc["rates"] = {k: str(v) for k, v in self.rates.items()}
        doc["pipeline"] = {"kinds": {k: list(v) for k, v in self.kinds.items()}}
        doc["accounts"] = dict(self.accounts)
        return doc


def supervise_dir(root: str | Path) -> Path:
    """``PROJECT/supervise``."""
    return Path(root) / SUPERVISE_DIR


def _date(value: Any, key: str, path: Path) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ProjectError(f"{key} '{value}' is not a date (YYYY-MM-DD)", path=path) from None


def _money(value: Any, key: str, path: Path) -> Decimal:
    if isinstance(value, float):
        raise ProjectError(f'{key} must be a quoted string ("12.50"), not a float', path=path)
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise ProjectError(f"{key} '{value}' is not an amount", path=path) from None
    if not out.is_finite():
        raise ProjectError(f"{key} '{value}' is not an amount", path=path)
    return out


def load_config(root: str | Path) -> SuperviseConfig:
    """Read ``PROJECT/supervise/supervise.toml`` (defaults when it does not exist)."""
    path = supervise_dir(root) / CONFIG_FILE
    if not path.is_file():
        return SuperviseConfig()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"not valid TOML: {exc}", path=path) from exc
    cal = str(doc.get("calendar", "working"))
    if cal not in ("working", "calendar"):
        raise ProjectError(f"calendar '{cal}' must be 'working' or 'calendar'", path=path)
    rates = dict(DEFAULT_RATES)
    for k, v in dict(doc.get("rates", {})).items():
        rates[str(k)] = _money(v, f"rates.{k}", path)
    kinds = dict(DEFAULT_KINDS)
    for k, v in dict(doc.get("pipeline", {}).get("kinds", {})).items():
        if not (isinstance(v, list) and len(v) == 2):
            raise ProjectError(f"pipeline.kinds.{k} must be [rate name, account code]", path=path)
        kinds[str(k)] = (str(v[0]), str(v[1]))
    accounts = dict(DEFAULT_ACCOUNTS)
    accounts.update({str(k): str(v) for k, v in dict(doc.get("accounts", {})).items()})
    months = doc.get("storage_months")
    try:
        return SuperviseConfig(
            currency=str(doc.get("currency", "USD")),
            working_days=cal == "working",
            holidays=tuple(d for d in (_date(h, "holidays", path) for h in doc.get("holidays", [])) if d),
            delivery=_date(doc.get("delivery"), "delivery", path),
            start=_date(doc.get("start"), "start", path),
            at_risk_days=int(doc.get("at_risk_days", 5)),
            storage_months=None if months is None else _money(months, "storage_months", path),
            rates=rates,
            kinds=kinds,
            accounts=dict(sorted(accounts.items())),
        )
    except (TypeError, ValueError) as exc:
        raise ProjectError(f"invalid setting: {exc}", path=path) from exc


def save_config(root: str | Path, config: SuperviseConfig) -> Path:
    """Write ``supervise.toml`` atomically; returns its path."""
    path = supervise_dir(root) / CONFIG_FILE
    atomic_write_text(path, tomli_w.dumps(config.to_toml()))
    return path
