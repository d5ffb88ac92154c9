"""Winnowing fingerprints: renamed copies match, honest solutions do not, shared code is
left out, and the matching regions point at the copied lines."""

from __future__ import annotations

import json

from peer.similarity import all_hashes, fingerprint, pairs_of, render, similarity

ORIGINAL = """\
def count_words(text):
    counts = {}
    for word in text.split():
        word = word.lower().strip(".,!?")
        if word:
            counts[word] = counts.get(word, 0) + 1
    return counts

for word, n in sorted(count_words(input()).items()):
    print(word, n)
"""
# The same program with every name changed, comments added and the spacing moved.
RENAMED = """\
# my own solution!
def tally(s):
    d = {}
    for w in s.split():   # each word
        w = w.lower().strip(".,!?")
        if w:
            d[w] = d.get(w, 0) + 1
    return d

for w, k in sorted(tally(input()).items()):
    print(w, k)
"""
HONEST = """\
import collections
import sys

words = [w.lower().strip(".,!?") for w in sys.stdin.read().split()]
c = collections.Counter(w for w in words if w)
for key in sorted(c):
    print(key, c[key])
"""
C_A = """\
#include <stdio.h>
int main(void) {
    int a, b;
    if (scanf("%d %d", &a, &b) != 2) return 1;
    printf("%d\\n", a + b);
    return 0;
}
"""
C_B = """\
#include <stdio.h>
int main(void) {
    int x, y;
    if (scanf("%d %d", &x, &y) != 2) return 1;
    printf("%d\\n", x + y);
    return 0;
}
"""


def test_a_renamed_copy_scores_far_above_an_honest_solution() -> None:
    a, b, c = (
        fingerprint(n, s, "python") for n, s in [("a", ORIGINAL), ("b", RENAMED), ("c", HONEST)]
    )
    assert similarity(a, b) == 1.0
    assert similarity(a, c) < 0.3 and similarity(b, c) < 0.3
    ranked = pairs_of([a, b, c])
    assert (ranked[0].a.label, ranked[0].b.label) == ("a", "b")
    region = ranked[0].regions[0]
    assert region.a_lines == (1, 10) and "count_words" in region.a_text and "tally" in region.b_text


def test_c_programs_are_compared_too() -> None:
    a, b = fingerprint("a", C_A, "c"), fingerprint("b", C_B, "c")
    assert similarity(a, b) == 1.0


def test_shared_code_is_left_out() -> None:
    starter = "for w, k in sorted(tally(input()).items()):\n    print(w, k)\n"
    shared = all_hashes(starter, "python")
    a = fingerprint("a", ORIGINAL, "python", ignore=shared)
    b = fingerprint("b", RENAMED, "python", ignore=shared)
    whole = fingerprint("a", ORIGINAL, "python")
    assert len(a.prints) < len(whole.prints)
    assert not a.hashes & shared
    assert similarity(a, b) == 1.0  # the rest is still the same program


def test_earlier_terms_are_compared_with_this_term_only() -> None:
    now = [fingerprint("now", HONEST, "python")]
    before = [fingerprint("old1", ORIGINAL, "python"), fingerprint("old2", RENAMED, "python")]
    ranked = pairs_of(now, before)
    assert {(p.a.label, p.b.label) for p in ranked} == {("now", "old1"), ("now", "old2")}


def test_every_format_names_the_pairs() -> None:
    ranked = pairs_of(
        [fingerprint("Ann", ORIGINAL, "python"), fingerprint("<b>", RENAMED, "python")]
    )
    data = json.loads(render(ranked, "Words", "json"))
    assert data["pairs"][0]["similarity"] == 1.0 and data["pairs"][0]["regions"]
    assert "100.0%  Ann  ~  <b>" in render(ranked, "Words", "text")
    html = render(ranked, "Words", "html")
    assert "&lt;b&gt;" in html and "<b>" not in html and "tally" in html
