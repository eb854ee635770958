"""The pipeline: work that crosses departments — reconform, the render farm (Dask), chunked jobs joined
exactly, lineage, resume and staleness.

Modules: :mod:`~posthouse.pipeline.farm` (cluster start/connect, the executor a job runs on),
:mod:`~posthouse.pipeline.chunks` (frame-range chunks, chunked DCP encode and timeline render, exact
joins), :mod:`~posthouse.pipeline.lineage` (which inputs and settings made which outputs),
:mod:`~posthouse.pipeline.status` (what is stale), :mod:`~posthouse.pipeline.reconform` (carrying the
sound, score, VFX and conform work of one cut version to the next).
"""

__all__: list[str] = []
