"""ClairMeta, the independent DCP validator, as the tests run it.

This machine has no asdcplib, so ClairMeta cannot probe MXF track files: it records a ProbeError on picture
and sound and skips its MXF-level checks (PyAV and the hashes cover those in the tests), and its subtitle
checks would stop the whole run on "asdcp-unwrap not available". Stand-ins for ``asdcp-unwrap`` and
``asdcp-info`` on timed-text files only read the XML, the font and the asset UUID with our MXF reader, so
ClairMeta's subtitle checks run (the id-coherence part then checks our reader against our writer).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DCST = "{http://www.smpte-ra.org/schemas/428-7/2014/DCST}"


@contextlib.contextmanager
def _fake_unwrap(path: str, prefix: Any = None, args: Any = ()) -> Iterator[str]:
    """Stand-in for ``asdcp-unwrap`` (not installed): the XML under the MXF's stem, fonts by their id."""
    from posthouse.finish.mxf import iter_mxf_essence, read_timed_text_resources

    folder = tempfile.mkdtemp(prefix="dcppkg-unwrap-")
    try:
        stem = Path(path).stem
        (Path(folder) / stem).write_bytes(b"".join(iter_mxf_essence(path)))
        for rid, _mime, data in read_timed_text_resources(path):
            (Path(folder) / f"urn:uuid:{rid}").write_bytes(data)
            (Path(folder) / str(rid)).write_bytes(data)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _probe_timed_text(asset: dict[str, Any], essence: str, path: str) -> None:
    """Stand-in for ``asdcp-info`` on timed text only: the fields ClairMeta's subtitle checks read, from the
    document itself (namespace, Id) and the MXF's header (asset UUID, rate, duration). Picture and sound
    stay unprobed (ClairMeta records a ProbeError and skips the MXF-level checks)."""
    from posthouse.finish.mxf import iter_mxf_essence, read_mxf_info

    _CM_PROBE(asset, essence, path)
    if essence != "Subtitle" or not path.endswith(".mxf"):
        return
    doc = ET.fromstring(b"".join(iter_mxf_essence(path)))
    info = read_mxf_info(path)
    asset.pop("ProbeError", None)
    asset["Probe"] = {
        "NamespaceName": doc.tag[1:].split("}")[0],
        "LabelSetType": "SMPTE",
        "AssetID": (doc.findtext(f"{DCST}Id") or "").removeprefix("urn:uuid:"),
        "AssetUUID": str(info.asset_id),
        "EditRate": float(info.edit_rate),
        "ContainerDuration": info.duration,
        "EncryptedEssence": False,
    }


def clairmeta_check(path: Path, ov: Path | None = None) -> tuple[list[str], list[str]]:
    """ClairMeta's check: (errors, warnings) as 'check: message' lines."""
    import clairmeta
    import clairmeta.dcp as cm_dcp
    import clairmeta.dcp_check_subtitle as cm_sub

    saved = cm_sub.unwrap_mxf, cm_dcp.cpl_probe_asset
    cm_sub.unwrap_mxf, cm_dcp.cpl_probe_asset = _fake_unwrap, _probe_timed_text
    try:
        _ok, report = clairmeta.DCP(str(path)).check(ov_path=str(ov) if ov else None)
    finally:
        cm_sub.unwrap_mxf, cm_dcp.cpl_probe_asset = saved

    def lines(level: str) -> list[str]:
        return [f"{e.full_name()}: {e.message}" for e in report.errors_by_criticality(level)]

    print("ClairMeta info:", *lines("INFO"), sep="\n  ")
    return lines("ERROR"), lines("WARNING")


def _cm_probe() -> Any:
    import clairmeta.dcp_utils

    return clairmeta.dcp_utils.cpl_probe_asset


_CM_PROBE = _cm_probe()
