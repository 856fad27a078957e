"""`make test-nlu`: Rasa's NLU cross-validation with the same folds on every machine.

`rasa test nlu --cross-validation` splits the examples with scikit-learn's
`StratifiedKFold(shuffle=True)` and no `random_state`, so each run draws new folds from
NumPy's global generator. A topic with ~20 examples then scores anywhere between ~0.25 and
~0.5 F1 from one run to the next, and the check could fail on one machine and pass on another
with the same data. Seeding NumPy's global generator before Rasa starts fixes the folds (they
are all drawn before the first model trains); the models themselves are seeded by `config.yml`.
"""
from __future__ import annotations

import sys
from typing import List, Tuple

FOLD_SEED = 20261129


def split_seed(argv: List[str]) -> Tuple[int, List[str]]:
    """`--fold-seed N` (to measure how much the folds move the scores), the rest goes to Rasa."""
    if "--fold-seed" in argv:
        at = argv.index("--fold-seed")
        return int(argv[at + 1]), argv[:at] + argv[at + 2:]
    return FOLD_SEED, argv


def seed_folds(seed: int = FOLD_SEED) -> None:
    """Fix the folds `rasa.nlu.test.generate_folds` draws next."""
    import numpy

    numpy.random.seed(seed)


def main(argv: List[str]) -> None:
    seed, argv = split_seed(argv)
    seed_folds(seed)
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", "test", "nlu", *argv]
    rasa_main()


if __name__ == "__main__":
    main(sys.argv[1:])
