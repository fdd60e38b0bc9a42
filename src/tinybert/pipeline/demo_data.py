"""The demo's data set: generated sentiment sentences whose dev/test words and phrasings never occur in train.

Each sentence is built from a template (plain, intensified, negated, contrasted) and a word list.
The vocabulary is split in two disjoint halves: train draws sentiment words, intensifiers,
negations, contrast words, subjects and openers from the ``train`` lists; dev and test draw them
from the ``held_out`` lists (synonyms, new intensifiers, negation in new positions, new contrast
phrasings). A pre-trained teacher knows that *superb* is like *great* and that *hardly* negates;
a small student trained only on the training labels has never seen either. That gap is what
distillation (with augmentation) is meant to close.

Everything is generated here from these lists with a seeded ``random.Random``; the same seed
gives the same files.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tinybert.errors import TinyBertError
from tinybert.io.outputs import atomic_file

LABELS = ("negative", "positive")


@dataclass(frozen=True)
class Vocabulary:
    """One half of the word lists (train, or the held-out half used by dev and test)."""

    positive: tuple[str, ...]
    negative: tuple[str, ...]
    intensifiers: tuple[str, ...]
    negations: tuple[str, ...]
    """Templates with ``{adj}``: a negated predicate, e.g. ``is not {adj}``."""
    contrasts: tuple[str, ...]
    """Templates with ``{a}`` and ``{b}`` (clauses); the sentence's label is clause ``b``'s."""
    subjects: tuple[str, ...]
    openers: tuple[str, ...]

    def words(self) -> set[str]:
        """The single words of the sentiment, intensifier and subject lists (for disjointness checks)."""
        return {w for group in (self.positive, self.negative, self.intensifiers) for w in group} | {
            s.split()[-1] for s in self.subjects
        }


TRAIN = Vocabulary(
    positive=("good", "great", "wonderful", "enjoyable", "beautiful", "brilliant", "charming", "pleasant"),
    negative=("bad", "terrible", "boring", "awful", "dull", "ugly", "weak", "poor"),
    intensifiers=("very", "really", "so", "quite"),
    negations=("is not {adj}", "was not {adj}", "is not at all {adj}"),
    contrasts=("{a} , but {b}", "{a} and yet {b}"),
    subjects=("the movie", "this film", "the plot", "the acting", "the story", "the music"),
    openers=("", "", "", "overall ,", "honestly ,", "i think"),
)

HELD_OUT = Vocabulary(
    positive=("excellent", "superb", "delightful", "terrific", "fantastic", "lovely", "outstanding", "amazing"),
    negative=("horrible", "dreadful", "tedious", "lousy", "mediocre", "pathetic", "disappointing", "bland"),
    intensifiers=("extremely", "incredibly", "truly", "remarkably"),
    negations=("is never {adj}", "was hardly {adj}", "is far from {adj}", "is by no means {adj}"),
    contrasts=("although {a} , {b}", "{a} ; however , {b}", "{a} ; nevertheless , {b}"),
    subjects=("the script", "this picture", "the cast", "the ending", "the dialogue", "the soundtrack"),
    openers=("", "", "", "frankly ,", "in my view ,", "to be fair ,"),
)


def _clause(rng: random.Random, vocab: Vocabulary, positive: bool, negate: bool) -> str:
    """A clause whose polarity is ``positive``; ``negate``: built from the opposite word, negated."""
    word_positive = positive != negate
    adj = rng.choice(vocab.positive if word_positive else vocab.negative)
    if rng.random() < 0.4:
        adj = f"{rng.choice(vocab.intensifiers)} {adj}"
    subject = rng.choice(vocab.subjects)
    if negate:
        return f"{subject} {rng.choice(vocab.negations).format(adj=adj)}"
    return f"{subject} {rng.choice(('is', 'was'))} {adj}"


def make_sentence(rng: random.Random, vocab: Vocabulary) -> tuple[str, str]:
    """One (sentence, label) pair: a plain, intensified or negated clause, or two contrasted clauses."""
    positive = rng.random() < 0.5
    kind = rng.random()
    if kind < 0.35:
        text = _clause(rng, vocab, positive, negate=False)
    elif kind < 0.65:
        text = _clause(rng, vocab, positive, negate=True)
    else:  # contrast: the second clause decides, the first says the opposite
        first = _clause(rng, vocab, not positive, negate=rng.random() < 0.3)
        second = _clause(rng, vocab, positive, negate=rng.random() < 0.3)
        text = rng.choice(vocab.contrasts).format(a=first, b=second)
    opener = rng.choice(vocab.openers)
    text = f"{opener} {text} ." if opener else f"{text} ."
    return text, LABELS[int(positive)]


def generate(n: int, vocab: Vocabulary, seed: int, exclude: set[str] | None = None) -> list[tuple[str, str]]:
    """``n`` distinct labelled sentences from ``vocab`` (none of them in ``exclude``)."""
    rng = random.Random(seed)
    seen = set(exclude or ())
    rows: list[tuple[str, str]] = []
    attempts = 0
    while len(rows) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise TinyBertError(f"demo data: could not generate {n} distinct sentences from the word lists")
        text, label = make_sentence(rng, vocab)
        if text not in seen:
            seen.add(text)
            rows.append((text, label))
    return rows


def _write_csv(path: Path, rows: Sequence[tuple[str, str]]) -> None:
    with atomic_file(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sentence", "label"])
        writer.writerows(rows)


def describe_demo_data(n_train: int = 2000, n_dev: int = 400, n_test: int = 1000, seed: int = 0) -> dict[str, int]:
    """The example counts :func:`write_demo_data` writes (checked, without generating anything)."""
    for name, value in (("n_train", n_train), ("n_dev", n_dev), ("n_test", n_test)):
        if value < 1:
            raise TinyBertError(f"demo data: {name} must be >= 1, got {value}")
    return {"train": n_train, "dev": n_dev, "test": n_test}


def write_demo_data(folder: Path, n_train: int = 2000, n_dev: int = 400, n_test: int = 1000, seed: int = 0) -> dict:
    """Write ``train.csv``, ``dev.csv`` and ``test.csv`` (columns ``sentence,label``) into ``folder``.

    Train uses :data:`TRAIN`'s words; dev and test use :data:`HELD_OUT`'s, and never repeat a
    sentence of each other. Returns a summary (counts, label balance, the word lists).
    """
    describe_demo_data(n_train, n_dev, n_test, seed)
    folder.mkdir(parents=True, exist_ok=True)
    train = generate(n_train, TRAIN, seed)
    dev = generate(n_dev, HELD_OUT, seed + 1)
    test = generate(n_test, HELD_OUT, seed + 2, exclude={text for text, _ in dev})
    splits = {"train": train, "dev": dev, "test": test}
    for name, rows in splits.items():
        _write_csv(folder / f"{name}.csv", rows)
    return {
        "folder": str(folder),
        "seed": seed,
        "examples": {name: len(rows) for name, rows in splits.items()},
        "positive_share": {name: sum(y == "positive" for _, y in rows) / len(rows) for name, rows in splits.items()},
        "train_words": sorted(TRAIN.words()),
        "held_out_words": sorted(HELD_OUT.words()),
    }
