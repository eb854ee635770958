"""`posthouse deliver …`: the deliverables made from the graded master and the mix."""

from __future__ import annotations

import typer

from posthouse.cli import deliver_dcp, deliver_streaming

__all__ = ["app"]

app = typer.Typer(
    help="Deliverables: streaming ladders (HLS/DASH), the mezzanine and the DCP.", no_args_is_help=True
)
app.command("streaming")(deliver_streaming.streaming)
app.command("mezzanine")(deliver_streaming.mezzanine)
app.command("dcp")(deliver_dcp.dcp)
