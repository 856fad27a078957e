"""« À améliorer »: the questions Mutu missed, grouped by similarity so that « combien ça coûte
devenir membre? » and « c'est quoi le prix pour être membre » are one line for the coordinator.

TF-IDF over character n-grams of the accent-folded text (typos and missing accents stay close),
then agglomerative clustering on cosine distance with an average link and a distance threshold:
no number of groups to choose, and a question unlike any other stays alone."""
from __future__ import annotations

from typing import List, Sequence

from bot.text import fold

THRESHOLD = 0.8  # cosine distance under which two groups are joined (tests/test_console_groups.py)


def group(texts: Sequence[str], threshold: float = THRESHOLD) -> List[List[int]]:
    """Indexes of ``texts`` by group; identical questions (accents and case aside) always together."""
    keys: dict = {}
    for i, text in enumerate(texts):
        keys.setdefault(" ".join(fold(text).split()), []).append(i)
    distinct = list(keys)
    if len(distinct) <= 1:
        return [list(range(len(texts)))] if texts else []
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(distinct)
    labels = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, affinity="cosine",
                                     linkage="average").fit_predict(matrix.toarray())
    groups: dict = {}
    for key, label in zip(distinct, labels):
        groups.setdefault(label, []).extend(keys[key])
    return [sorted(g) for g in groups.values()]
