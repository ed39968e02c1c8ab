"""Quality on the gold set and speed, next to raw model speed, in one run.

Prints, in order:
  1. load time and RSS growth of each model (spaCy, lingua, slovnet + navec + pymorphy3);
  2. precision / recall per kind and language on the gold sets test_gold.py checks, the
     tuned set (tests/gold, the rules were developed on it: optimistic) and the held-out
     set (tests/gold/heldout, never tuned on: the honest estimate), side by side;
  3. words/s and docs/s of ``enrich_batch`` on the gold set and on the sample article
     repeated ``--copies`` times, next to spaCy's raw ``nlp.pipe`` (NER only, same texts)
     and slovnet's raw NER on the Russian gold texts.

Run: .venv/bin/python bench/quality.py [--copies 200] [--batch-size 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.gold is not an installed package

from services.enrich import document, russian  # noqa: E402
from services.enrich.core import DEFAULT_PIPELINE, enrich_batch, load_pipeline  # noqa: E402
from shared.models import RawDocument  # noqa: E402
from tests.gold.scoring import compare, evaluate, load_gold, load_heldout, report  # noqa: E402


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _load(label: str, load: Callable[[], object]) -> None:
    before, started = _rss_mb(), time.perf_counter()
    load()
    seconds, grown = time.perf_counter() - started, _rss_mb() - before
    print(f"| {label} | {seconds:.2f} s | +{grown:.0f} MB |")


def _best(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def _words(texts: Sequence[str]) -> int:
    return sum(document.word_count(t) for t in texts)


def _row(label: str, texts: Sequence[str], seconds: float) -> str:
    return (
        f"| {label} | {len(texts)} | {_words(texts)} | {_words(texts) / seconds:,.0f} "
        f"| {len(texts) / seconds:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="best of N rounds")
    args = parser.parse_args()

    print("## Model load (once per process)\n\n| model | time | RSS |\n|---|---|---|")
    print(f"| (process before loading) | | {_rss_mb():.0f} MB |")
    _load("spaCy pipeline + dateparser", lambda: load_pipeline(DEFAULT_PIPELINE))
    _load(
        "lingua (en, ru, uk) + first detection",
        lambda: document.detect_language("Первый текст для определения языка."),
    )
    _load("slovnet NER + navec + pymorphy3 (lazy)", russian.load_models)
    print(f"| (process after loading) | | {_rss_mb():.0f} MB |")

    nlp = load_pipeline(DEFAULT_PIPELINE)
    gold = load_gold()
    gold_docs = [g.raw() for g in gold]
    tuned = evaluate(gold, enrich_batch(gold_docs, nlp, args.batch_size))
    heldout_gold = load_heldout()
    heldout = evaluate(
        heldout_gold, enrich_batch([g.raw() for g in heldout_gold], nlp, args.batch_size)
    )
    print(
        "\n## Quality: tuned on vs held out\n\n"
        "The rules were tuned on the first set, so its figures are optimistic; the held-out\n"
        "articles were never used to tune anything and estimate quality on unseen text.\n"
    )
    print(compare(tuned, heldout))
    print(f"\n### Tuned on: tests/gold ({len(gold)} documents)\n")
    print(report(tuned))
    print(f"\n### Held out: tests/gold/heldout ({len(heldout_gold)} documents)\n")
    print(report(heldout))

    from scripts.sample_table import sample_document

    copies: list[RawDocument] = [
        sample_document().model_copy(update={"id": f"sample-{i}"}) for i in range(args.copies)
    ]
    sets = {
        "gold set": gold_docs,
        "gold, English": [d for d, g in zip(gold_docs, gold, strict=True) if g.language == "en"],
        "gold, Russian": [d for d, g in zip(gold_docs, gold, strict=True) if g.language == "ru"],
        f"sample x{args.copies}": copies,
    }
    ner_only = russian.load_models().ner

    def raw_spacy(texts: list[str]) -> None:
        with nlp.memory_zone():
            for _ in nlp.pipe(texts, batch_size=args.batch_size):
                pass

    print(
        f"\n## Speed (best of {args.rounds}, batch size {args.batch_size}, one process)\n\n"
        "| run | docs | words | words/s | docs/s |\n|---|---|---|---|---|"
    )
    for label, docs in sets.items():
        texts = [d.text for d in docs]
        enrich_batch(docs[:2], nlp, args.batch_size)  # warm up
        enriched = _best(partial(enrich_batch, docs, nlp, args.batch_size), args.rounds)
        raw = _best(partial(raw_spacy, texts), args.rounds)
        print(_row(f"{label}: enrich_batch", texts, enriched))
        print(_row(f"{label}: raw spaCy nlp.pipe (NER only)", texts, raw))
        if label == "gold, Russian":
            slovnet = _best(partial(lambda t: list(ner_only.map(t)), texts), args.rounds)
            print(_row(f"{label}: raw slovnet NER", texts, slovnet))


if __name__ == "__main__":
    main()
