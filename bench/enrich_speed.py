"""Throughput of raw ``nlp.pipe`` vs ``enrich_batch`` on the sample article.

The enricher should stay within ~15% of raw NER throughput: everything it adds (segments,
merging, dates, links, language) must be cheap next to the model. Run:

    .venv/bin/python bench/enrich_speed.py [--copies 200] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from services.enrich.core import DEFAULT_PIPELINE, enrich_batch, load_pipeline
from services.ingest.reader import read_document
from shared.models import RawDocument
from shared.settings import Settings

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "samples" / "putin-elites-venezuela.txt"


def _documents(path: Path, copies: int) -> list[RawDocument]:
    """``copies`` of the file as ingest reads it, each with its own id."""
    doc = read_document(path, path.name, Settings())
    return [doc.model_copy(update={"id": f"doc-{i}"}) for i in range(copies)]


def _timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; best is kept")
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    args = parser.parse_args()

    documents = _documents(args.sample, args.copies)
    words = len(documents[0].text.split())
    texts = [d.text for d in documents]
    nlp = load_pipeline(DEFAULT_PIPELINE)
    enrich_batch(documents[:4], nlp, args.batch_size)  # warm up both paths
    list(nlp.pipe(texts[:4]))

    def raw() -> None:
        with nlp.memory_zone():
            for _ in nlp.pipe(texts, batch_size=args.batch_size):
                pass

    def enriched() -> None:
        enrich_batch(documents, nlp, args.batch_size)

    # Alternate the two and keep each one's best round: other load on the machine then
    # inflates both alike instead of whichever happened to run during it.
    raw_times, enrich_times = [], []
    for _ in range(args.rounds):
        raw_times.append(_timed(raw))
        enrich_times.append(_timed(enriched))
    raw_seconds, enrich_seconds = min(raw_times), min(enrich_times)

    total_words = words * args.copies
    print(
        f"{args.copies} docs x {words} words, batch size {args.batch_size}, best of {args.rounds}"
    )
    for label, seconds in (("nlp.pipe", raw_seconds), ("enrich_batch", enrich_seconds)):
        rate = f"{total_words / seconds:8.0f} words/s  {args.copies / seconds:6.1f} docs/s"
        print(f"{label:>12}: {rate}")
    print(f"{'overhead':>12}: {enrich_seconds / raw_seconds - 1:+.1%}")


if __name__ == "__main__":
    main()
