"""Background jobs of the traceability consoles: issuing a batch, rendering its labels, capturing EPCIS documents.

A `JobRunner` runs work on a small bounded thread pool and keeps each job's
record in memory (kind, owning organisation, state queued -> running -> done
or failed, progress done/total, a note (a message catalog key and its values, so
each page shows it in its own language), and why it failed with the field at
fault); a job that makes a file (label sheets) writes it into the runner's
directory, where the owning organisation downloads it from.
"""
from __future__ import annotations

import dataclasses
import logging
import secrets
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from apps.traceability import labels as label_files
from apps.traceability.codes import MAX_BATCH, BatchTree, IssuedBatch
from apps.traceability.errors import TraceError
from apps.traceability.identifiers import Gtin, IdentifierError, parse_lot
from apps.traceability.service import TraceService
from apps.traceability.store import Batch, Product, Tree

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
#: Label file formats: PDF sheets, or a ZIP of one PNG / SVG per label.
LABEL_FORMATS = ("pdf", "png", "svg")


@dataclass
class Job:
    """One background job and how far it got."""

    id: str
    kind: str  # issue_batch, labels, capture
    org: str
    state: str = QUEUED
    done: int = 0
    total: int = 0
    note: str = ""  # a message catalog key saying what the job is doing
    args: dict[str, Any] = dataclasses.field(default_factory=dict)  # the values the note's text names
    error: str = ""
    field: str = ""
    status: int = 0  # the HTTP status of the failure
    result: str = ""  # the file the job made (path), if any
    data: dict[str, Any] = dataclasses.field(default_factory=dict)
    created: float = dataclasses.field(default_factory=time.time)
    finished: float | None = None

    def progress(self, done: int, total: int, note: str | None = None, /, **args: Any) -> None:
        """Record progress (called from the job's own thread)."""
        self.done, self.total = done, total
        if note is not None:
            self.note, self.args = note, args

    def to_json(self) -> dict[str, Any]:
        """The job's state as JSON (never the file path)."""
        return {"id": self.id, "kind": self.kind, "org": self.org, "state": self.state, "done": self.done,
                "total": self.total, "note": self.note, "args": self.args, "error": self.error, "field": self.field,
                "has_file": bool(self.result) and self.state == DONE, "data": self.data,
                "created": self.created, "finished": self.finished}


Work = Callable[[Job], None]


class JobRunner:
    """A bounded pool of worker threads and the records of the jobs it ran (the newest `keep`)."""

    def __init__(self, directory: str | Path | None = None, workers: int = 2, max_pending: int = 16,
                 keep: int = 500) -> None:
        self.directory = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="trace-jobs-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_pending = max_pending
        self.keep = keep
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trace-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, kind: str, org: str, work: Work, data: dict[str, Any] | None = None) -> Job:
        """Queue a job; refused (503) while too many jobs wait or run."""
        job = self._new(kind, org, data)
        with self._lock:
            if sum(j.state in (QUEUED, RUNNING) for j in self._jobs.values()) >= self.max_pending:
                raise TraceError("too many jobs are waiting; try again in a minute", "job", 503)
            self._add(job)
        self._pool.submit(self._execute, job, work)
        return job

    def run(self, kind: str, org: str, work: Work, data: dict[str, Any] | None = None) -> Job:
        """Run a job in the calling thread and keep its record (for work quick enough to wait for)."""
        job = self._new(kind, org, data)
        with self._lock:
            self._add(job)
        self._execute(job, work)
        return job

    def get(self, job_id: str) -> Job | None:
        """A job by id."""
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self, org: str | None = None, kind: str | None = None) -> list[Job]:
        """Jobs (one organisation's, one kind), newest first."""
        with self._lock:
            found = [j for j in self._jobs.values()
                     if (org is None or j.org == org) and (kind is None or j.kind == kind)]
        return sorted(found, key=lambda j: j.created, reverse=True)

    def path_for(self, job: Job, suffix: str) -> Path:
        """Where a job writes its file."""
        return self.directory / f"{job.id}{suffix}"

    def shutdown(self) -> None:
        """Stop taking jobs and wait for the running ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _new(self, kind: str, org: str, data: dict[str, Any] | None) -> Job:
        return Job(id=secrets.token_hex(8), kind=kind, org=org, data=dict(data or {}))

    def _add(self, job: Job) -> None:
        self._jobs[job.id] = job
        finished = [j for j in self._jobs.values() if j.state in (DONE, FAILED)]
        for old in sorted(finished, key=lambda j: j.created)[:max(0, len(self._jobs) - self.keep)]:
            del self._jobs[old.id]
            if old.result:
                Path(old.result).unlink(missing_ok=True)

    @staticmethod
    def _execute(job: Job, work: Work) -> None:
        job.state = RUNNING
        try:
            work(job)
        except TraceError as exc:
            job.error, job.field, job.status = exc.message, exc.field, exc.status
        except IdentifierError as exc:  # labels and identifiers name the offending field
            job.error, job.field, job.status = str(exc), exc.field, 400
        except Exception as exc:  # a job must never die silently: the failure is its record
            log.exception("job %s (%s) failed", job.id, job.kind)
            job.error, job.field, job.status = f"internal error: {exc.__class__.__name__}: {exc}", "job", 500
        job.finished = time.time()
        job.state = FAILED if job.error else DONE


# --- the jobs ------------------------------------------------------------------------------------------------------


def issue_batch_work(service: TraceService, org: str, gtin: str, lot: str, count: int, expiry: str = "") -> Work:
    """A job issuing a batch of item codes and committing its root on chain."""
    if not 0 <= count <= MAX_BATCH:
        raise TraceError(f"a batch holds 0 (a lot without item codes) to {MAX_BATCH} items", "count")

    def work(job: Job) -> None:
        job.progress(0, 2, "job_generating", count=count)
        batch = service.issue_batch(org, gtin, lot, count, expiry,
                                    progress=lambda _: job.progress(1, 2, "job_committing"))
        job.data.update(gtin=batch.gtin, lot=batch.lot, height=batch.height, root=batch.root.hex())
        job.progress(2, 2, "job_committed", height=batch.height)

    return work


def owned_batch(service: TraceService, org: str, gtin: str, lot: str) -> Batch:
    """A committed batch of this organisation (404 if unknown, 403 if another's)."""
    try:
        batch = service.store.get(Batch, Gtin.parse(gtin).digits, parse_lot(lot))
    except IdentifierError as exc:
        raise TraceError(str(exc), exc.field) from None
    if batch is None or batch.status != "committed":
        raise TraceError(f"no batch {gtin}/{lot}", "lot", 404)
    if batch.org != org:
        raise TraceError(f"batch {batch.gtin}/{batch.lot} belongs to {batch.org}", "lot", 403)
    return batch


def issued_batch(service: TraceService, batch: Batch) -> IssuedBatch:
    """A batch's codes and PINs as issued, from the brand's own store."""
    codes = service.store.codes(batch.gtin, batch.lot)
    tree = service.store.get(Tree, batch.gtin, batch.lot)
    if not codes or tree is None:
        raise TraceError(f"no item codes of batch {batch.gtin}/{batch.lot} are held here", "lot", 404)
    return IssuedBatch(batch.gtin, batch.lot, tuple(c.serial for c in codes), tuple(c.pin for c in codes),
                       tuple(c.pin_hash for c in codes), BatchTree.from_bytes(tree.data))


def label_work(service: TraceService, runner: JobRunner, batch: Batch, fmt: str, workers: int = 2) -> Work:
    """A job rendering a batch's labels (PINs included) as PDF sheets or a ZIP of PNG/SVG files."""
    if fmt not in LABEL_FORMATS:
        raise TraceError(f"format is one of {', '.join(LABEL_FORMATS)}", "format")
    org = batch.org

    def work(job: Job) -> None:
        job.progress(0, batch.count, "job_loading")
        product = service.store.get(Product, batch.gtin)
        party = service.config.parties.get(org)
        labels = label_files.labels_for_batch(
            issued_batch(service, batch), service.config.resolver, product.name if product else batch.gtin,
            party.label if party else org, batch.expiry or None, with_pins=True, scheme=service.config.scheme)

        def progress(done: int, total: int) -> None:
            job.progress(done, total, "job_labels_progress", done=done, total=total)

        path = runner.path_for(job, ".pdf" if fmt == "pdf" else f"-{fmt}.zip")
        if fmt == "pdf":
            pages = label_files.render_pdf(labels, path, progress, workers=workers)
            job.data["pages"] = pages
        else:
            label_files.render_zip(labels, path, fmt, progress, workers=workers)
        job.result = str(path)
        job.data["file_name"] = f"labels-{batch.gtin}-{batch.lot.replace('/', '_')}" + (
            ".pdf" if fmt == "pdf" else f"-{fmt}.zip")
        job.progress(len(labels), len(labels), "job_labels_ready", count=len(labels))

    return work


def capture_work(service: TraceService, org: str, document: bytes | str | dict[str, Any]) -> Work:
    """A job anchoring an EPCIS document's events on chain (all or none)."""

    def work(job: Job) -> None:
        job.progress(0, 1, "job_anchoring")
        hashes = service.capture(org, document)
        job.data["eventIDs"] = hashes
        job.progress(1, 1, "job_anchored", count=len(hashes))

    return work
