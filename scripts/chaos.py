"""Chaos run: drop N files while killing and restarting services and restarting Redis,
then check every sink holds exactly N records: zero lost, zero duplicated.

Loopback only, bounded in time. Usage:
    .venv/bin/python scripts/chaos.py [--files 500] [--seconds 600] [--seed 1]
Exit code 0 when every file is accounted for exactly once, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.embedded import EmbeddedRedis, free_port  # noqa: E402

SERVICES = ("ingest", "enrich-1", "enrich-2", "publish")


def _text(i: int) -> str:
    return (
        f"Chaos report {i}\n\nJane Doe\n\nMoscow, March {i % 28 + 1} – Report number {i}: "
        f"Vladimir Putin met officials in Moscow to discuss Venezuela (t.me/chaos/{i}).\n"
    )


class Chaos:
    def __init__(self, workdir: Path, files: int, seed: int) -> None:
        self.workdir = workdir
        self.files = files
        self.rng = random.Random(seed)
        self.redis = EmbeddedRedis(workdir / "redis").start()
        self.inbox = workdir / "inbox"
        self.inbox.mkdir()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.kills: Counter[str] = Counter()
        self.redis_restarts = 0
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DROPWIRE_")},
            "DROPWIRE_REDIS_URL": self.redis.url,
            "DROPWIRE_INBOX": str(self.inbox),
            "DROPWIRE_ARCHIVE_DIR": str(workdir / "archive"),
            "DROPWIRE_FAILED_DIR": str(workdir / "failed"),
            "DROPWIRE_OUTBOX": str(workdir / "outbox"),
            "DROPWIRE_LOG_FORMAT": "json",
            "DROPWIRE_CLAIM_IDLE_MS": "2000",
            "DROPWIRE_SETTLE_SECONDS": "0.1",
            "DROPWIRE_MAX_DELIVERIES": "20",
        }
        self.ports = {name: free_port() for name in SERVICES}

    def start(self, name: str) -> None:
        service = name.split("-")[0]
        env = {
            **self.env,
            f"DROPWIRE_{service.upper()}_HTTP_PORT": str(self.ports[name]),
            "DROPWIRE_CONSUMER_NAME": f"{name}-{time.monotonic_ns()}",
        }
        log = (self.workdir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "services.cli", service],
            env=env,
            stdout=log,
            stderr=log,
            cwd=ROOT,
        )

    def kill_random(self) -> None:
        name = self.rng.choice(SERVICES)
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait()
        self.kills[name] += 1
        self.start(name)

    def restart_redis(self) -> None:
        self.redis.stop()
        time.sleep(self.rng.uniform(0.5, 2.0))
        self.redis.start()
        self.redis_restarts += 1

    def run(self, seconds: float) -> dict[str, int]:
        """Phase 1: drop files gradually while killing services and restarting Redis.
        Phase 2: no more chaos; wait for the pipeline to drain (bounded by ``seconds``)."""
        deadline = time.monotonic() + seconds
        for name in SERVICES:
            self.start(name)
        chaos_for = max(30.0, self.files / 10)
        chaos_end = time.monotonic() + chaos_for
        per_tick = max(1, round(self.files / (chaos_for / 0.25)))
        dropped = 0
        next_chaos = time.monotonic() + 3
        while time.monotonic() < min(chaos_end, deadline):
            for _ in range(min(per_tick, self.files - dropped)):
                tmp = self.inbox / f"doc-{dropped:05d}.txt.part"
                tmp.write_text(_text(dropped), encoding="utf-8")
                tmp.rename(tmp.with_suffix(""))  # complete files appear atomically
                dropped += 1
            if time.monotonic() >= next_chaos:
                if self.rng.random() < 0.2:
                    self.restart_redis()
                else:
                    self.kill_random()
                next_chaos = time.monotonic() + self.rng.uniform(1.0, 4.0)
            time.sleep(0.25)
        while dropped < self.files:  # whatever the chaos phase did not drop
            (self.inbox / f"doc-{dropped:05d}.txt").write_text(_text(dropped), encoding="utf-8")
            dropped += 1
        while time.monotonic() < deadline and self.count()["published_unique"] < dropped:
            time.sleep(1)
        time.sleep(3)  # let any late duplicate show up before counting
        counts = self.count()
        counts.update(dropped=dropped, redis_restarts=self.redis_restarts)
        counts.update({f"killed_{k}": v for k, v in sorted(self.kills.items())})
        return counts

    def count(self) -> dict[str, int]:
        ids: list[str] = []
        for path in (self.workdir / "outbox").glob("*.jsonl"):
            ids += [json.loads(line)["id"] for line in path.read_text().splitlines()]
        try:
            client = redis.Redis.from_url(self.redis.url, decode_responses=True)
            stream_ids = [f["id"] for _i, f in client.xrange("dropwire:published")]
            client.close()
        except redis.RedisError:
            stream_ids = []
        failed = len(list((self.workdir / "failed").glob("*.error.json")))
        return {
            "jsonl_lines": len(ids),
            "published_unique": len(set(ids)),
            "jsonl_duplicates": len(ids) - len(set(ids)),
            "stream_entries": len(stream_ids),
            "stream_duplicates": len(stream_ids) - len(set(stream_ids)),
            "failed": failed,
        }

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.redis.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="Keep the work folder.")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="dropwire-chaos-"))
    chaos = Chaos(workdir, args.files, args.seed)
    started = time.monotonic()
    try:
        counts = chaos.run(args.seconds)
    finally:
        chaos.stop()
    lost = counts["dropped"] - counts["published_unique"] - counts["failed"]
    counts.update(lost=lost, seconds=round(time.monotonic() - started))
    for key, value in counts.items():
        print(f"{key:>20}: {value}")
    print(f"{'work folder':>20}: {workdir}")
    ok = (
        lost == 0
        and counts["jsonl_duplicates"] == 0
        and counts["stream_duplicates"] == 0
        and counts["stream_entries"] == counts["published_unique"]
        and counts["failed"] == 0
    )
    print("RESULT:", "OK" if ok else "FAILED")
    if not args.keep and ok:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
