"""`make test-nlu`: fail when NLU cross-validation falls below the thresholds.

Reads the reports `rasa test nlu --cross-validation` writes (accumulated over the test folds)
and prints the figures quoted in closing notes.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List

# Weighted F1 over the held-out folds of a 3-fold cross-validation (each model sees 2/3 of the
# ~1,600 written examples, so these sit well below the full model's answers). Measured 2026-11-29:
# intents 0.77, FAQ topics 0.78. The intents fell from 0.84 (2026-11-27) when `not_in_source`
# (in-domain questions the infographic does not answer, F1 0.44: it borders every FAQ topic by
# design), `not_what_i_meant` and English examples came in; the answer action reads them against
# the knowledge base, and whole conversations went from 67 % to 99 % of turns right. FAQ topics rose.
# A drop of a few points fails the run.
THRESHOLDS = {"intent_report.json": 0.75, "response_selection_report.json": 0.75}
# No single intent or FAQ topic may collapse on held-out examples. The folds are seeded
# (`bot/tools/cross_validate.py`): drawn at random, `faq/formal_informal` (22 examples then) scored
# 0.24 on one run and 0.44 on another. With 32 examples: 0.59-0.66 over three seeds, 0.69 on the
# seeded folds once the final data was in (2026-11-29).
MIN_TOPIC_F1 = 0.3


def check(report_dir: Path) -> List[str]:
    problems: List[str] = []
    for name, minimum in THRESHOLDS.items():
        path = report_dir / name
        if not path.exists():
            problems.append(f"{path} is missing: did the cross-validation run?")
            continue
        report: Dict[str, Dict] = json.loads(path.read_text("utf-8"))
        weighted = report["weighted avg"]
        print(f"{name}: weighted F1 {weighted['f1-score']:.3f}, precision {weighted['precision']:.3f}, "
              f"accuracy {report.get('accuracy', float('nan')):.3f}, support {weighted['support']}")
        if weighted["f1-score"] < minimum:
            problems.append(f"{name}: weighted F1 {weighted['f1-score']:.3f} < {minimum}")
        for label, scores in report.items():
            if isinstance(scores, dict) and "confused_with" in scores and scores.get("support", 0) > 0:
                if scores["f1-score"] < MIN_TOPIC_F1:
                    problems.append(f"{name}: {label} F1 {scores['f1-score']:.2f} "
                                    f"(confused with {scores.get('confused_with')})")
    return problems


def main(argv: List[str]) -> int:
    report_dir = Path(argv[0] if argv else "results/nlu")
    problems = check(report_dir)
    for problem in problems:
        print(f"NLU CHECK FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
