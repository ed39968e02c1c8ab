"""Dropwire's benchmark: how close the pipeline gets to the speed of its NER model.

One command, one run, the same documents throughout (the English gold set under
``tests/gold/``, else the sample article and a few variants, repeated with a unique last
line each so every file has its own content id):

1. raw spaCy ``nlp.pipe`` with the worker's pipeline (NER + sentencizer): the limit;
2. the enricher alone (``enrich_batch``, as the worker calls it), interleaved with (1)
   chunk by chunk so that load from elsewhere on the machine hits both alike;
3. the whole pipeline end to end, files renamed into the inbox until their records are in
   the JSONL sink, with 1 and with 2 enrich workers;
4. latency from file drop to the record in every sink, one document at a time with a
   short pause between them, files written in place (as ``cp`` does) and renamed in;
5. ingest alone: 1-KB text files per second into the raw stream;
6. peak RSS (VmHWM) per service, and in the full run the enrich worker's RSS every few
   hundred documents over 10,000 documents.

Services run as real subprocesses (``python -m services.cli ingest|enrich|publish``) against
a private redis-server, in a temporary folder removed afterwards. Run:

    make bench                                  # the full run (about 20-30 minutes)
    .venv/bin/python bench/run.py --quick       # about 2-3 minutes, smaller counts
    .venv/bin/python bench/run.py --docs 500 --only model,e2e --json
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.ingest.reader import read_document  # noqa: E402
from shared.embedded import EmbeddedRedis, free_port  # noqa: E402
from shared.models import RawDocument  # noqa: E402
from shared.settings import Settings  # noqa: E402

GOLD = ROOT / "tests" / "gold"
SAMPLE = ROOT / "tests" / "fixtures" / "putin-elites-venezuela.txt"
PREFIX = "bench"
STAGES = ("model", "e2e", "latency", "ingest", "rss")
_TICKS = os.sysconf("SC_CLK_TCK")


def note(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_average() -> float:
    return os.getloadavg()[0]


# --- documents ---------------------------------------------------------------------------

_SYLLABLES = (
    *("ka", "lo", "mi", "ver", "sto", "zan", "pre", "dul"),
    *("ix", "qua", "ne", "rho", "tes", "bar", "vel", "or"),
)


def _token(i: int) -> str:
    """A made-up word unique to ``i``: a new string for the vocabulary in every document."""
    parts, n = [], i + 1
    while n:
        n, r = divmod(n, len(_SYLLABLES))
        parts.append(_SYLLABLES[r])
    return "".join(parts).capitalize()


def base_texts(pattern: str) -> tuple[list[str], str]:
    """The texts documents are made of, and where they come from."""
    gold = sorted(GOLD.glob(pattern)) if GOLD.is_dir() else []
    texts = list(dict.fromkeys(p.read_text(encoding="utf-8") for p in gold))
    if texts:
        return texts, f"{len(texts)} gold documents ({GOLD.relative_to(ROOT)}/{pattern})"
    sample = SAMPLE.read_text(encoding="utf-8")
    title, _, body = sample.partition("\n")
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    variants = [sample]
    for shift in (1, 2, 3):  # the body's paragraphs rotated: same words, other order
        rotated = paragraphs[shift:] + paragraphs[:shift]
        variants.append(title + "\n\n" + "\n\n".join(rotated) + "\n")
    return variants, f"the sample article and {len(variants) - 1} variants"


def document_bytes(texts: list[str], i: int) -> bytes:
    text = texts[i % len(texts)].rstrip("\n")
    return f"{text}\n\nFiled by the {_token(i)} desk, reference {i}.\n".encode()


def small_file_bytes(i: int) -> bytes:
    """A text file of about 1 KB with a title line, unique by its last line."""
    body = SAMPLE.read_text(encoding="utf-8")
    head = f"Bench note {i}\n\n"
    tail = f"\n\nReference {_token(i)} {i}.\n"
    room = 1024 - len(head.encode()) - len(tail.encode())
    cut = body.encode()[:room].decode(errors="ignore").rsplit(" ", 1)[0]
    return (head + cut + tail).encode()


def small_html_bytes(i: int) -> bytes:
    """The same note as an HTML page: parsed by trafilatura in the sandbox child."""
    title, _blank, body = small_file_bytes(i).decode().partition("\n\n")
    paragraphs = "".join(f"<p>{html.escape(part)}</p>" for part in body.split("\n\n"))
    page = f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
    return (page + paragraphs + "</article></body></html>").encode()


def word_count(text: str) -> int:
    return len(text.split())


# --- (1) and (2): the model and the enricher in this process -----------------------------


def measure_model(docs: list[RawDocument], settings: Settings, chunk: int) -> dict[str, Any]:
    from services.enrich.core import enrich_batch, load_pipeline

    nlp = load_pipeline(settings.spacy_pipeline)
    size = settings.batch_size
    enrich_batch(docs[:size], nlp, size)  # warm up both paths (lazy tables, caches)
    with nlp.memory_zone():
        list(nlp.pipe([d.text for d in docs[:size]], batch_size=size))

    def raw(part: list[RawDocument]) -> None:
        texts = [d.text for d in part]
        for offset in range(0, len(texts), size):
            with nlp.memory_zone():
                for _doc in nlp.pipe(texts[offset : offset + size], batch_size=size):
                    pass

    def enriched(part: list[RawDocument]) -> None:
        enrich_batch(part, nlp, size)

    spent = {"raw": [0.0, 0.0], "enrich": [0.0, 0.0]}  # wall, cpu
    runs: dict[str, Callable[[list[RawDocument]], None]] = {"raw": raw, "enrich": enriched}
    for k, offset in enumerate(range(0, len(docs), chunk)):
        part = docs[offset : offset + chunk]
        for name in ("raw", "enrich") if k % 2 == 0 else ("enrich", "raw"):
            wall, cpu = time.perf_counter(), time.process_time()
            runs[name](part)
            spent[name][0] += time.perf_counter() - wall
            spent[name][1] += time.process_time() - cpu
        if k % 10 == 9:
            note(f"  model: {offset + len(part)}/{len(docs)} documents")
    words = sum(word_count(d.text) for d in docs)
    out: dict[str, Any] = {"docs": len(docs), "words": words, "batch_size": size}
    for name, (wall, cpu) in spent.items():
        out[name] = {
            "seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2),
            "words_per_s": round(words / wall),
            "docs_per_s": round(len(docs) / wall, 2),
            "words_per_cpu_s": round(words / cpu),
        }
    out["ratio"] = round(out["enrich"]["words_per_s"] / out["raw"]["words_per_s"], 3)
    out["ratio_cpu"] = round(out["enrich"]["words_per_cpu_s"] / out["raw"]["words_per_cpu_s"], 3)
    out["load"] = round(load_average(), 2)
    return out


# --- services as subprocesses --------------------------------------------------------------


def proc_status(pid: int, key: str) -> int | None:
    """A ``/proc/<pid>/status`` memory figure (VmRSS, VmHWM) in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def child_pids(pid: int) -> list[int]:
    """The live child processes of ``pid``."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with suppress(OSError):
            kids += [int(k) for k in (task / "children").read_text().split()]
    return kids


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


@dataclass
class Folders:
    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    def make(self) -> Folders:
        for sub in ("inbox", "staging", "outbox", "archive", "failed", "data", "logs"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        return self


@dataclass
class Service:
    name: str
    kind: str
    process: subprocess.Popen[bytes]
    log: Path
    port: int


@dataclass
class Pipeline:
    """Ingest, enrich (×workers) and publish as subprocesses on a fresh key prefix."""

    folders: Folders
    redis_url: str
    kinds: tuple[str, ...]
    workers: int = 1
    env_extra: dict[str, str] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DROPWIRE_")}
        f = self.folders
        env.update(
            {
                "DROPWIRE_REDIS_URL": self.redis_url,
                "DROPWIRE_STREAM_PREFIX": PREFIX,
                "DROPWIRE_INBOX": str(f.inbox),
                "DROPWIRE_ARCHIVE_DIR": str(f.root / "archive"),
                "DROPWIRE_FAILED_DIR": str(f.root / "failed"),
                "DROPWIRE_OUTBOX": str(f.outbox),
                "DROPWIRE_DATA_DIR": str(f.root / "data"),
                "DROPWIRE_LOG_FORMAT": "json",
                "PYTHONUNBUFFERED": "1",
                **self.env_extra,
            }
        )
        return env

    def start(self) -> Pipeline:
        env = self.env()
        for kind in self.kinds:
            for i in range(self.workers if kind == "enrich" else 1):
                name = kind if kind != "enrich" else f"enrich-{i + 1}"
                port = free_port()
                log = self.folders.root / "logs" / f"{name}.log"
                with log.open("wb") as out:
                    process = subprocess.Popen(
                        [sys.executable, "-m", "services.cli", kind],
                        cwd=ROOT,
                        env={**env, f"DROPWIRE_{kind.upper()}_HTTP_PORT": str(port)},
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                self.services.append(Service(name, kind, process, log, port))
        return self

    def wait_ready(self, timeout: float = 180.0) -> None:
        wanted = {"ingest": "ingest.watching", "enrich": "enrich.ready", "publish": "publish.ready"}
        deadline = time.monotonic() + timeout
        pending = list(self.services)
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"services not ready: {[s.name for s in pending]}")
            for service in list(pending):
                if service.process.poll() is not None:
                    tail = service.log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{service.name} exited early:\n{tail}")
                if wanted[service.kind] in service.log.read_text(errors="replace") and _http_ok(
                    service.port
                ):
                    pending.remove(service)
            time.sleep(0.1)
        time.sleep(0.3)  # the watcher's inotify watches are set up right after the scan

    def pids(self, kind: str) -> list[int]:
        return [s.process.pid for s in self.services if s.kind == kind]

    def stop(self) -> None:
        for service in self.services:
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        for service in self.services:
            try:
                service.process.wait(30)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()

    def peak_rss(self) -> dict[str, int]:
        """VmHWM of each service (the largest of several enrich workers), and of each
        service's child processes together (ingest's extraction sandbox)."""
        peaks: dict[str, int] = {}
        for service in self.services:
            hwm = proc_status(service.process.pid, "VmHWM") or 0
            peaks[service.kind] = max(peaks.get(service.kind, 0), hwm)
            if kids := child_pids(service.process.pid):
                total = sum(proc_status(kid, "VmHWM") or 0 for kid in kids)
                key = f"{service.kind} children"
                peaks[key] = max(peaks.get(key, 0), total)
        return peaks

    def cpu(self) -> dict[str, float]:
        """CPU seconds of each kind of service, its child processes included."""
        totals: dict[str, float] = {}
        for service in self.services:
            pids = [service.process.pid, *child_pids(service.process.pid)]
            used = sum(cpu_seconds(pid) for pid in pids)
            totals[service.kind] = totals.get(service.kind, 0.0) + used
        return totals


def _http_ok(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@contextmanager
def running(pipeline: Pipeline) -> Iterator[Pipeline]:
    pipeline.start()
    try:
        pipeline.wait_ready()
        yield pipeline
    finally:
        pipeline.stop()


class JsonlCounter:
    """Counts the lines in the outbox's JSONL files, reading only what was appended."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox
        self.offsets: dict[Path, int] = {}
        self.lines = 0

    def count(self) -> int:
        for path in self.outbox.glob("*.jsonl"):
            offset = self.offsets.get(path, 0)
            with path.open("rb") as fh:
                fh.seek(offset)
                chunk = fh.read()
            # Only whole lines: a line being appended is counted once it ends.
            end = chunk.rfind(b"\n") + 1
            self.lines += chunk.count(b"\n", 0, end)
            self.offsets[path] = offset + end
        return self.lines


def drop(folders: Folders, files: list[tuple[str, bytes]]) -> float:
    """Write ``files`` to staging, then rename them all into the inbox; returns the time
    (perf_counter) the first one arrived."""
    for name, data in files:
        (folders.staging / name).write_bytes(data)
    started = time.perf_counter()
    for name, _data in files:
        os.rename(folders.staging / name, folders.inbox / name)
    return started


def wait_count(
    count: Callable[[], int], target: int, timeout: float, what: str, poll: float = 0.02
) -> float:
    deadline = time.monotonic() + timeout
    last_report = time.monotonic()
    while True:
        seen = count()
        if seen >= target:
            return time.perf_counter()
        now = time.monotonic()
        if now > deadline:
            raise TimeoutError(f"timed out waiting for {what}: {seen}/{target}")
        if now - last_report > 15:
            note(f"  {what}: {seen}/{target}")
            last_report = now
        time.sleep(poll)


# --- (3), (4), (6): end to end ----------------------------------------------------------------


@dataclass
class Bench:
    args: argparse.Namespace
    texts: list[str]
    redis_server: EmbeddedRedis
    root: Path
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_server.url)

    def fresh(self, name: str) -> Folders:
        with self.client as client:
            client.flushall()
        return Folders(self.root / name).make()

    def corpus(self, start: int, count: int) -> list[tuple[str, bytes]]:
        return [
            (f"doc-{i:06d}.txt", document_bytes(self.texts, i)) for i in range(start, start + count)
        ]

    def timeout_for(self, docs: int) -> float:
        return float(self.args.timeout) + docs * 2.0

    def e2e(self, workers: int, *, latency: bool, rss: bool) -> dict[str, Any]:
        folders = self.fresh(f"e2e-{workers}")
        pipeline = Pipeline(
            folders,
            self.redis_server.url,
            ("ingest", "enrich", "publish"),
            workers,
            env_extra=self.args.env,
        )
        out: dict[str, Any] = {"workers": workers}
        n = self.args.docs
        with running(pipeline):
            counter = JsonlCounter(folders.outbox)
            warm = self.corpus(900_000, 4 * workers)  # lazy loads before timing
            drop(folders, warm)
            wait_count(counter.count, len(warm), self.timeout_for(len(warm)), "warm-up")
            files = self.corpus(0, n)
            words = sum(self._words(data) for _name, data in files)
            cpu_before = pipeline.cpu()
            redis_cpu = cpu_seconds(self.redis_server_pid)
            note(f"e2e, {workers} enrich worker(s): {n} documents")
            started = drop(folders, files)
            done = wait_count(
                counter.count, len(warm) + n, self.timeout_for(n), f"e2e-{workers} records"
            )
            seconds = done - started
            cpu_after = pipeline.cpu()
            cpu = {k: cpu_after[k] - cpu_before.get(k, 0.0) for k in cpu_after}
            cpu["redis"] = cpu_seconds(self.redis_server_pid) - redis_cpu
            out.update(
                docs=n,
                words=words,
                seconds=round(seconds, 2),
                docs_per_s=round(n / seconds, 2),
                words_per_s=round(words / seconds),
                cpu_seconds_per_1k_docs={k: round(v * 1000 / n, 2) for k, v in cpu.items()},
                load=round(load_average(), 2),
            )
            if latency:
                out["latency"] = {
                    mode: attempt(partial(self.latency, folders, counter, mode))
                    for mode in ("write", "rename")
                }
            if rss:
                out["rss_flatness"] = attempt(lambda: self.rss_flatness(folders, pipeline, counter))
            out["peak_rss"] = pipeline.peak_rss() | {
                "redis": proc_status(self.redis_server_pid, "VmHWM") or 0
            }
        return out

    @property
    def redis_server_pid(self) -> int:
        assert self.redis_server.process is not None
        return self.redis_server.process.pid

    def _words(self, data: bytes) -> int:
        return word_count(data.decode())

    def latency(self, folders: Folders, counter: JsonlCounter, mode: str) -> dict[str, Any]:
        """One document at a time, 0.1-0.3 s apart, ``mode`` "write": written in place (as
        ``cp`` does: the file must then settle), or "rename": written beside the inbox and
        renamed into it (as careful producers drop files: complete when it appears)."""
        count = self.args.latency_docs
        note(f"latency ({mode}): {count} documents, one at a time")
        published_key = f"{PREFIX}:published"
        rng = random.Random(7)
        to_stream: list[float] = []
        to_all: list[float] = []
        dropped: dict[str, float] = {}  # doc id -> wall-clock time of the drop
        with self.client as client:
            start = 800_000 if mode == "write" else 850_000
            for i, (name, data) in enumerate(self.corpus(start, count)):
                time.sleep(rng.uniform(0.1, 0.3))
                lines, entries = counter.count(), int(client.xlen(published_key))
                t_stream = t_jsonl = None
                started = time.perf_counter()
                dropped[hashlib.sha256(data).hexdigest()] = time.time()
                if mode == "write":
                    (folders.inbox / name).write_bytes(data)
                else:
                    (folders.staging / name).write_bytes(data)
                    os.rename(folders.staging / name, folders.inbox / name)
                deadline = time.monotonic() + self.args.timeout
                while t_stream is None or t_jsonl is None:
                    now = time.perf_counter()
                    if t_stream is None and client.xlen(published_key) > entries:
                        t_stream = now
                    if t_jsonl is None and counter.count() > lines:
                        t_jsonl = now
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"latency document {i} not published")
                    time.sleep(0.002)
                to_stream.append(t_stream - started)
                to_all.append(max(t_stream, t_jsonl) - started)
        return {
            "docs": count,
            "every_sink_ms": _percentiles(to_all),
            "published_stream_ms": _percentiles(to_stream),
            "stages_p50_ms": self.stage_times(folders, dropped),
            "load": round(load_average(), 2),
        }

    def stage_times(self, folders: Folders, dropped: dict[str, float]) -> dict[str, float]:
        """Median time between the steps of a document's journey, from the services' logs:
        drop → ingest.accepted → enrich.done → publish.published (every sink written)."""
        steps = ("ingest.accepted", "enrich.done", "publish.published")
        seen: dict[str, dict[str, float]] = {doc_id: {"drop": t} for doc_id, t in dropped.items()}
        for log in (folders.root / "logs").glob("*.log"):
            for line in log.read_text(errors="replace").splitlines():
                if not line.startswith("{"):
                    continue
                with suppress(ValueError):
                    event = json.loads(line)
                    if event.get("event") in steps and event.get("doc_id") in seen:
                        at = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
                        seen[event["doc_id"]][event["event"]] = at.timestamp()
        out: dict[str, float] = {}
        for before, after in zip(("drop", *steps), steps, strict=False):
            gaps = [t[after] - t[before] for t in seen.values() if before in t and after in t]
            if gaps:
                out[f"{before} → {after}"] = round(statistics.median(gaps) * 1000, 1)
        return out

    def rss_flatness(
        self, folders: Folders, pipeline: Pipeline, counter: JsonlCounter
    ) -> dict[str, Any]:
        """Feed one worker up to ``--rss-docs`` documents, sampling its VmRSS every
        ``--rss-every`` documents."""
        target, every = self.args.rss_docs, self.args.rss_every
        (pid,) = pipeline.pids("enrich")
        done = counter.count()
        note(f"rss: feeding the enrich worker up to {target} documents")
        samples: list[tuple[int, int]] = [(done, proc_status(pid, "VmRSS") or 0)]
        index = 100_000
        while done < target:
            batch = min(every, target - done)
            files = self.corpus(index, batch)
            index += batch
            drop(folders, files)
            wait_count(counter.count, done + batch, self.timeout_for(batch), "rss feed")
            done = counter.count()
            samples.append((done, proc_status(pid, "VmRSS") or 0))
        mb = [round(rss / 2**20) for _n, rss in samples]
        return {
            "docs": done,
            "samples": [[n, round(rss / 2**20)] for n, rss in samples],
            "first_mb": mb[1] if len(mb) > 1 else mb[0],
            "last_mb": mb[-1],
            "max_mb": max(mb),
            "load": round(load_average(), 2),
        }

    def ingest_alone(self, kind: str = "txt") -> dict[str, Any]:
        """Small files renamed into the inbox at once, until all are on the raw stream:
        ``kind`` "txt" (parsed in the ingest process) or "html" (in the sandbox child)."""
        folders = self.fresh(f"ingest-{kind}")
        pipeline = Pipeline(
            folders,
            self.redis_server.url,
            ("ingest",),
            env_extra={"DROPWIRE_MAX_BACKLOG": "0", **self.args.env},
        )
        n = self.args.ingest_files if kind == "txt" else self.args.ingest_files // 3
        raw_key = f"{PREFIX}:raw"
        make = small_file_bytes if kind == "txt" else small_html_bytes
        with running(pipeline), self.client as client:
            files = [(f"note-{i:06d}.{kind}", make(i)) for i in range(n)]
            note(f"ingest alone: {n} {kind} files of about 1 KB")
            cpu_before = pipeline.cpu()["ingest"]
            started = drop(folders, files)
            wall = time.time() - (time.perf_counter() - started)
            done = wait_count(
                lambda: int(client.xlen(raw_key)), n, self.timeout_for(n) / 10, "raw entries"
            )
            first = client.xrange(raw_key, count=1)[0][0].decode()
            last = client.xrevrange(raw_key, count=1)[0][0].decode()
            span = (int(last.split("-")[0]) - int(first.split("-")[0])) / 1000
            settle_wait = int(first.split("-")[0]) / 1000 - wall
            seconds = done - started
            return {
                "files": n,
                "kind": kind,
                "bytes_each": len(files[0][1]),
                "seconds": round(seconds, 2),
                "files_per_s": round(n / seconds),
                "steady_files_per_s": round((n - 1) / span) if span > 0 else None,
                "first_entry_after_s": round(settle_wait, 3),
                "cpu_ms_per_file": round((pipeline.cpu()["ingest"] - cpu_before) * 1000 / n, 2),
                "peak_rss": pipeline.peak_rss(),
                "load": round(load_average(), 2),
            }


def attempt(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A stage's figures, or the error that stopped it (the other stages still run)."""
    try:
        return run()
    except (TimeoutError, RuntimeError, OSError, redis.RedisError) as exc:
        note(f"  failed: {type(exc).__name__}: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}", "load": round(load_average(), 2)}


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pct(p: float) -> float:
        rank = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        return round(ordered[rank] * 1000, 1)

    return {
        "p50": pct(50),
        "p95": pct(95),
        "p99": pct(99),
        "max": round(ordered[-1] * 1000, 1),
        "mean": round(statistics.fmean(ordered) * 1000, 1),
    }


# --- report ----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = proc_meminfo("MemTotal")
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem / 2**30, 1) if mem else None,
        "python": platform.python_version(),
        "load_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def proc_meminfo(key: str) -> int | None:
    with suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return None


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str]] = []
    for name, value in results.items():
        if isinstance(value, dict) and "error" in value:
            rows.append((f"{name}: FAILED", value["error"][:120], ""))
    results = {k: v for k, v in results.items() if not (isinstance(v, dict) and "error" in v)}
    model = results.get("model")
    raw_rate = model["raw"]["words_per_s"] if model else None
    if model:
        for key, label in (("raw", "(1) raw nlp.pipe"), ("enrich", "(2) enricher alone")):
            m = model[key]
            rows.append(
                (
                    label,
                    f"{m['words_per_s']:,} words/s  {m['docs_per_s']} docs/s",
                    f"{m['words_per_cpu_s']:,} words/cpu-s",
                )
            )
        rows.append(
            ("(2)/(1)", f"{model['ratio']:.2f}  (cpu: {model['ratio_cpu']:.2f})", "target ≥ 0.85")
        )
    e2e = {k: v for k, v in results.items() if k.startswith("e2e-")}
    for key in sorted(e2e):
        run = e2e[key]
        cpu = run["cpu_seconds_per_1k_docs"]
        rows.append(
            (
                f"(3) end to end, {run['workers']} worker(s)",
                f"{run['words_per_s']:,} words/s  {run['docs_per_s']} docs/s",
                "cpu-s/1k docs: " + ", ".join(f"{k} {v}" for k, v in sorted(cpu.items())),
            )
        )
        if raw_rate:
            target = "target ≥ 0.75" if run["workers"] == 1 else ""
            rows.append(
                (
                    f"(3)/(1), {run['workers']} worker(s)",
                    f"{run['words_per_s'] / raw_rate:.2f}",
                    target,
                )
            )
    if "e2e-1" in e2e and "e2e-2" in e2e:
        ratio = e2e["e2e-2"]["words_per_s"] / e2e["e2e-1"]["words_per_s"]
        rows.append(("(3) 2 workers / 1 worker", f"{ratio:.2f}", "target ≥ 1.5"))
    for key in sorted(e2e):
        for mode, lat in e2e[key].get("latency", {}).items():
            if "error" in lat:
                rows.append((f"(4) latency ({mode}): FAILED", lat["error"][:120], ""))
                continue
            every = lat["every_sink_ms"]
            how = "written in place" if mode == "write" else "renamed in"
            rows.append(
                (
                    f"(4) latency, {how} ({lat['docs']} docs)",
                    f"p50 {every['p50']} ms  p95 {every['p95']} ms  p99 {every['p99']} ms",
                    "target p50 ≤ 300, p99 ≤ 1000",
                )
            )
            stages = ", ".join(f"{k} {v}" for k, v in lat.get("stages_p50_ms", {}).items())
            rows.append(("    p50 by step (ms)", stages, ""))
    for key, target in (("ingest", "target ≥ 1,000"), ("ingest-html", "")):
        if ingest := results.get(key):
            rows.append(
                (
                    f"(5) ingest alone, {ingest.get('kind', 'txt')} "
                    f"({ingest['files']} × {ingest['bytes_each']} B)",
                    f"{ingest['files_per_s']:,} files/s  (steady {ingest['steady_files_per_s']:,})",
                    target,
                )
            )
    peaks: dict[str, int] = {}
    for run in [*e2e.values(), results.get("ingest") or {}, results.get("ingest-html") or {}]:
        for kind, hwm in run.get("peak_rss", {}).items():
            peaks[kind] = max(peaks.get(kind, 0), hwm)
    if peaks:
        rows.append(
            (
                "(6) peak RSS (VmHWM)",
                ", ".join(f"{k} {v / 2**20:.0f} MB" for k, v in sorted(peaks.items())),
                "enrich target ≤ 400 MB",
            )
        )
    for key in sorted(e2e):
        flat = e2e[key].get("rss_flatness")
        if flat and "error" in flat:
            rows.append(("(6) enrich RSS flatness: FAILED", flat["error"][:120], ""))
        elif flat:
            rows.append(
                (
                    f"(6) enrich RSS over {flat['docs']:,} docs",
                    f"first {flat['first_mb']} MB → last {flat['last_mb']} MB "
                    f"(max {flat['max_mb']})",
                    "target flat, ≤ 400 MB",
                )
            )
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, width, strict=True)).rstrip() for r in rows]
    head = results["machine"]
    loads = ", ".join(
        f"{k} {v['load']}" for k, v in results.items() if isinstance(v, dict) and "load" in v
    )
    return "\n".join(
        [
            f"Dropwire bench: {head['nproc']} × {head['cpu']}, {head['ram_gb']} GB RAM, "
            f"Python {head['python']}; {results['corpus']}; settings: {results['settings']}",
            f"load average at start {head['load_at_start']}; at the end of each stage: {loads}",
            "-" * max(len(line) for line in lines),
            *lines,
        ]
    )


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Dropwire benchmark: model, enricher, end to end, latency, ingest, RSS.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--docs", type=int, default=None, help="documents for (1)-(3)")
    parser.add_argument("--quick", action="store_true", help="small counts: about 2-3 minutes")
    parser.add_argument("--latency-docs", type=int, default=None)
    parser.add_argument("--ingest-files", type=int, default=None)
    parser.add_argument(
        "--rss-docs", type=int, default=None, help="feed one worker this many (full run)"
    )
    parser.add_argument("--rss-every", type=int, default=500)
    parser.add_argument("--only", default=",".join(STAGES), help=f"stages from {STAGES}")
    parser.add_argument("--gold", default="en-*.txt", help="glob of the gold files to use")
    parser.add_argument("--chunk", type=int, default=64, help="interleaving chunk of (1)/(2)")
    parser.add_argument("--timeout", type=float, default=120, help="base timeout per stage (s)")
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="FILE",
        help="print JSON instead of the table, or with FILE: the table, and JSON to FILE",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Dropwire setting for the services, e.g. settle_seconds=0.1 (repeatable)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "docs": 160 if quick else 2000,
        "latency_docs": 15 if quick else 100,
        "ingest_files": 1000 if quick else 3000,
        "rss_docs": 0 if quick else 10_000,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.env = {}
    for item in args.setting:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--setting wants NAME=VALUE, not {item!r}")
        args.env[f"DROPWIRE_{name.upper().removeprefix('DROPWIRE_')}"] = value
    args.stages = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = args.stages - set(STAGES)
    if unknown:
        parser.error(f"unknown stages {sorted(unknown)}; choose from {STAGES}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    texts, source = base_texts(args.gold)
    results: dict[str, Any] = {
        "machine": machine(),
        "command": " ".join(["bench/run.py", *(sys.argv[1:] if argv is None else argv)]),
        "corpus": f"{args.docs} documents from {source}",
        "settings": args.env or "defaults",
    }
    root = Path(tempfile.mkdtemp(prefix="dropwire-bench-"))
    settings = Settings(_env_file=None)
    try:
        if "model" in args.stages:
            corpus = root / "corpus"
            corpus.mkdir()
            docs = []
            for i in range(args.docs):
                path = corpus / f"doc-{i:06d}.txt"
                path.write_bytes(document_bytes(texts, i))
                docs.append(read_document(path, path.name, settings))
            note(f"model: raw nlp.pipe and enrich_batch over {len(docs)} documents")
            results["model"] = attempt(lambda: measure_model(docs, settings, args.chunk))
        with EmbeddedRedis(root / "redis") as server:
            bench = Bench(args, texts, server, root, results)
            if "e2e" in args.stages or "latency" in args.stages or "rss" in args.stages:
                results["e2e-1"] = attempt(
                    lambda: bench.e2e(
                        1,
                        latency="latency" in args.stages,
                        rss="rss" in args.stages and args.rss_docs > 0,
                    )
                )
            if "e2e" in args.stages:
                results["e2e-2"] = attempt(lambda: bench.e2e(2, latency=False, rss=False))
            if "ingest" in args.stages:
                results["ingest"] = attempt(bench.ingest_alone)
                results["ingest-html"] = attempt(lambda: bench.ingest_alone("html"))
    finally:
        if args.keep:
            note(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    if args.json == "-":
        print(json.dumps(results, indent=2))
    else:
        print(table(results))
    if args.json and args.json != "-":
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
