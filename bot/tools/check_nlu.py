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
# An « attractor » is a label predicted for other labels' held-out examples; none may take more than
# this share of them (from the reports' `confused_with`, which lists each label's 3 main confusions).
MAX_ATTRACTION = 0.03


def attraction(report: Dict[str, Dict]) -> List[tuple]:
    """(label, held-out examples of other labels predicted as it, their number, share), worst first."""
    labels = {k: v for k, v in report.items() if isinstance(v, dict) and "confused_with" in v}
    total = sum(v.get("support", 0) for v in labels.values())
    rows = []
    for label, scores in labels.items():
        taken = sum((other.get("confused_with") or {}).get(label, 0) for name, other in labels.items() if name != label)
        others = total - scores.get("support", 0)
        rows.append((label, taken, others, taken / others if others else 0.0))
    return sorted(rows, key=lambda row: row[3], reverse=True)


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
        rows = attraction(report)
        print("  attractors (label: other labels' examples it took, share): " + ", ".join(
            f"{label} {taken} {100 * share:.1f}%" for label, taken, _, share in rows[:5]))
        if name == "response_selection_report.json":  # FAQ topics (the intent « faq » borders all by design)
            problems += [f"{name}: {label} takes {100 * share:.1f}% of other topics' examples "
                         f"(> {100 * MAX_ATTRACTION:.0f}%)" for label, _, _, share in rows if share > MAX_ATTRACTION]
    return problems


def main(argv: List[str]) -> int:
    report_dir = Path(argv[0] if argv else "results/nlu")
    problems = check(report_dir)
    for problem in problems:
        print(f"NLU CHECK FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
