"""`posthouse demo shoot` and `posthouse demo run`: the built-in synthetic shoot and the end-to-end demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, handle_errors, print_json, rich_progress

app = typer.Typer(help="The built-in demo shoot and the end-to-end demo run.", no_args_is_help=True)

CLUSTER = typer.Option(
    None,
    "--cluster",
    envvar="POSTHOUSE_CLUSTER",
    help="Dask scheduler address (tcp://HOST:8786); default: local processes.",
)


def _spec(scenes: int, takes: int, cameras: str, size: str, seed: int, fps: str, faults: bool) -> object:
    from posthouse.demo.shoot import ShootSpec

    spec = ShootSpec(
        scenes=scenes,
        takes=takes,
        cameras=tuple(c.strip().upper() for c in cameras.split(",") if c.strip()),
        size=size,
        seed=seed,
        fps=fps,
        faults=faults,
    )
    spec.validate()
    return spec


@app.command("shoot")
@handle_errors
def shoot(
    directory: Path = typer.Argument(..., help="Empty or new folder for the shoot."),
    scenes: int = typer.Option(2, "--scenes", help="Number of scenes."),
    takes: int = typer.Option(2, "--takes", help="Takes per scene."),
    cameras: str = typer.Option("A", "--cameras", help="Cameras, e.g. A,B."),
    size: str = typer.Option("small", "--size", help="small (640x360), hd (1920x1080) or 2k (2048x1080)."),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed gives the same shoot."),
    fps: str = typer.Option("23.976", "--fps", help="Camera frame rate."),
    faults: bool = typer.Option(True, "--faults/--no-faults", help="Plant the faults real shoots have."),
    cluster: str | None = CLUSTER,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Generate a synthetic shoot: camera clips, production sound (BWF), script, reports, ground truth."""
    from posthouse.core.jobs import get_executor
    from posthouse.demo.shoot import ShootSpec, generate_shoot

    spec = _spec(scenes, takes, cameras, size, seed, fps, faults)
    assert isinstance(spec, ShootSpec)
    with get_executor(cluster) as ex, rich_progress(not as_json) as progress:
        result = generate_shoot(directory, spec, executor=ex, progress=progress)
    if as_json:
        print_json(result.to_dict())
        return
    console.print(
        f"shoot written to {result.root}: {len(result.camera_files)} camera clips, "
        f"{len(result.sound_files)} sound files; ground truth in ground_truth.json"
    )
    for f in result.truth["faults"]:
        console.print(f"  planted fault: {f['kind']} — {f['file']}", highlight=False)


@app.command("run")
@handle_errors
def run(
    directory: Path = typer.Argument(Path("demo-shoot"), help="Folder for the demo (shoot/ and project/)."),
    scenes: int = typer.Option(2, "--scenes", help="Number of scenes."),
    takes: int = typer.Option(2, "--takes", help="Takes per scene."),
    cameras: str = typer.Option("A", "--cameras", help="Cameras, e.g. A,B."),
    size: str = typer.Option("small", "--size", help="small, hd or 2k."),
    seed: int = typer.Option(1, "--seed", help="Random seed."),
    cluster: str | None = CLUSTER,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Run the pipeline on the demo shoot: offload, catalog, sync, dailies, assembly, lock, turnover, sound.

    Re-running keeps what is done. Exit code 1 when something other than the planted faults went wrong.
    """
    from posthouse.core.jobs import get_executor
    from posthouse.demo.run import run_demo
    from posthouse.demo.shoot import ShootSpec

    spec = _spec(scenes, takes, cameras, size, seed, "23.976", True)
    assert isinstance(spec, ShootSpec)
    with get_executor(cluster) as ex, rich_progress(not as_json) as progress:
        report = run_demo(directory, spec, executor=ex, progress=progress)
    if as_json:
        print_json(report.to_dict())
    else:
        _print_demo(report.to_dict())
    if not report.ok:
        raise typer.Exit(EXIT_PARTIAL)


def _print_demo(d: dict[str, Any]) -> None:
    from rich.table import Table

    console.print(f"[bold]demo[/] in {d['root']}: {' → '.join(d['stages'])}")
    console.print(f"  shoot:   {d['shoot']}")
    console.print(f"  project: {d['project']} ({d['catalogued']} files catalogued)")
    for path in d["expected_damage"]:
        console.print(f"  [yellow]damaged (planted fault, expected)[/] {path}", highlight=False)
    for path in d["unexpected_damage"]:
        console.print(f"  [red]damaged (unexpected)[/] {path}", highlight=False)
    table = Table(
        "take",
        "picture",
        "method",
        "offset",
        "truth",
        "error",
        "drift ppm",
        "status",
        title="sync against the shoot's ground truth",
        title_justify="left",
    )
    for s in d["sync"]:
        off, truth = s.get("offset_samples"), s.get("truth_offset_samples")
        err = "" if off is None or truth is None else f"{off - truth:+d}"
        drift = s.get("drift_ppm")
        table.add_row(
            s["take"],
            s["picture"],
            s["method"],
            "" if off is None else str(off),
            "" if truth is None else str(truth),
            err,
            "" if drift is None else f"{drift:+.1f}",
            s["status"],
        )
    console.print(table)
    console.print(f"  dailies: {d['dailies'].get('report')}")
    ed = d.get("editorial") or {}
    if ed:
        console.print(f"  cut:     {ed['cut']} ({ed['events']} takes), locked {ed['content_hash'][:19]}…")
        console.print(f"  turnover: {ed['turnover']}")
    sc = d.get("score") or {}
    if sc:
        for c in sc["cues"]:
            made = sum(1 for h in c["hits"] if h["made"])
            tempos = ", ".join(f"{t['bpm']:g} bpm at {t['bar']}|{t['beat']:g}" for t in c["tempos"])
            console.print(
                f"  score:    {c['cue']} {c['meter']} {tempos}; hits made {made}/{len(c['hits'])} (errors "
                + ", ".join(f"{h['error_frames']:+.2f}" for h in c["hits"])
                + " frames)"
            )
        console.print(f"  music:    {sc['music_edit']}; cue sheet {sc['cue_sheet']}")
    snd = d.get("sound") or {}
    if snd:
        dx = snd["dialogue"]
        console.print(
            f"  dialogue: SNR {dx['snr_before_db']:.1f} → {dx['snr_after_db']:.1f} dB, segmental "
            f"{dx['segsnr_before_db']:.1f} → {dx['segsnr_after_db']:.1f} dB against the clean dialogue"
        )
        if "adr" in snd:
            adr = snd["adr"]
            console.print(
                f"  ADR:      {adr['cue']} aligned, residual median {adr['residual_median_ms']:.1f} ms, "
                f"max {adr['residual_max_ms']:.1f} ms (words vs the guide: {adr['word_error_max_ms']:.1f} ms)"
            )
        console.print(f"  effects:  {len(snd['effects']['placed'])} clips spotted")
        for name, m in snd["mix"].items():
            levels = ", ".join(
                f"{lay} {v:.1f} LUFS / {m['true_peak_dbtp'][lay]:.1f} dBTP"
                for lay, v in m["measured_lufs"].items()
            )
            verdict = "meets" if m["passed"] else "MISSES"
            console.print(
                f"  mix {name:9s} {verdict} ({m['gating']}-gated, target {m['target_lufs']:g}): {levels}"
            )
        console.print(f"  DAW:      {snd['daw']['aaf']}")
    fin = d.get("finish") or {}
    if fin:
        c, v, m = fin["conform"], fin["vfx"], fin["master"]
        console.print(
            f"  conform:  {c['conformed']}/{c['events']} events relinked from the EDL "
            f"({', '.join(f'{k} {n}' for k, n in c['matched_by'].items())}), frames checked: "
            f"{'ok' if c['ok'] else 'PROBLEMS'}"
        )
        console.print(
            f"  VFX:      pulled {', '.join(v['shots'])}; returns "
            f"{', '.join(r['status'] for r in v['returns'])}; cut in {', '.join(v['cut_in']) or 'none'}"
        )
        console.print(f"  master:   {m['output']} ({m['frames']} frames, {m['graded_clips']} graded clips)")
    dlv = d.get("deliver") or {}
    if dlv:
        q, st, ar, sub = dlv["qc"], dlv["streaming"], dlv["archive"], dlv["subtitles"]
        if "dcp" in dlv:
            dcp = dlv["dcp"]
            console.print(f"  DCP:      {dcp['path']} (ClairMeta: {dcp.get('validation', 'not run')})")
        console.print(
            f"  subtitles: {sub['cues']} cues as SRT, WebVTT, TTML; {len(sub['issues'])} QC issue(s)"
        )
        console.print(
            f"  QC:       {q['file']}: {'FAILED ' + ', '.join(q['failures']) if q['failed'] else 'passed'}"
        )
        console.print(f"  streaming: {st['master_playlist']} ({'valid' if st['valid'] else 'INVALID'})")
        verdict = "verified" if ar["verified"] else "NOT VERIFIED"
        console.print(f"  archive:  {ar['package']} ({ar['files']} files, {verdict})")
    t = d.get("timings") or {}
    if t:
        console.print(
            f"  time:     {sum(t.values()):.0f} s ("
            + ", ".join(f"{k} {v:.0f} s" for k, v in t.items() if v >= 0.5)
            + ")"
        )
    console.print(f"  report:  {Path(d['root']) / 'demo_report.html'} (and demo_report.json)")
