"""The NLU cross-validation of `make test-nlu` splits the examples the same way on every run."""
from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

from rasa.nlu.test import generate_folds
from rasa.shared.nlu.training_data.loading import load_data

from bot.tools.cross_validate import FOLD_SEED, seed_folds, split_seed

ROOT = Path(__file__).resolve().parent.parent


def fold_texts() -> List[Tuple[str, ...]]:
    data = load_data(str(ROOT / "data" / "nlu" / "forms.yml"))
    return [tuple(sorted(m.get("text") for m in test.intent_examples))
            for _, test in generate_folds(3, data)]


def test_seeded_folds_are_the_same_each_time() -> None:
    seed_folds()
    first = fold_texts()
    seed_folds()
    assert fold_texts() == first
    assert len(first) == 3 and all(first)


def test_another_seed_draws_other_folds() -> None:
    seed_folds()
    first = fold_texts()
    seed_folds(FOLD_SEED + 1)
    assert fold_texts() != first


def test_fold_seed_option_is_taken_out_of_rasas_arguments() -> None:
    assert split_seed(["--nlu", "d", "--fold-seed", "7", "--folds", "3"]) == (7, ["--nlu", "d", "--folds", "3"])
    assert split_seed(["--nlu", "d"]) == (FOLD_SEED, ["--nlu", "d"])


def test_attraction_counts_other_labels_examples_taken() -> None:
    from bot.tools.check_nlu import attraction
    report = {"a": {"support": 10, "confused_with": {"b": 2}, "f1-score": 0.8},
              "b": {"support": 10, "confused_with": {}, "f1-score": 0.9},
              "c": {"support": 10, "confused_with": {"b": 1}, "f1-score": 0.9}, "weighted avg": {}}
    assert attraction(report)[0] == ("b", 3, 20, 0.15)
