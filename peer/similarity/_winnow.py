"""Winnowing fingerprints over program tokens (Schleimer, Wilkerson, Aiken, "Winnowing: Local
Algorithms for Document Fingerprinting", SIGMOD 2003), the method of MOSS and copydetect.

Pure: text in, fingerprints and matches out. A program is lexed with Pygments; names,
literals and comments are replaced by their class (``V``, ``S``, ``N``), so renaming every
variable or rewording every comment changes nothing, while the program's shape does. Every
k-gram of that token stream is hashed; in each window of ``w`` consecutive hashes the
smallest is kept (the rightmost on a tie). Any match of at least ``w + k - 1`` tokens is
then guaranteed to share a fingerprint, and nothing shorter than ``k`` tokens is ever
counted (the noise threshold).

Why not the ``copydetect`` package: it would bring numpy, matplotlib and tqdm for what is a
hundred lines here, and writes its own html; this module shares Pygments with the UI.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import attrs
from pygments.lexers import get_lexer_by_name
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text

from peer.grading import LANGUAGE_TABLE

__all__ = [
    "Fingerprint",
    "Program",
    "Region",
    "Token",
    "all_hashes",
    "fingerprint",
    "rank",
    "regions",
    "similarity",
    "tokens",
]

#: Noise threshold (tokens) and guarantee window: matches of 5 tokens or fewer never count;
#: any of 5 + 4 - 1 = 8 tokens or more is always found. Small, because student programs are.
K = 5
W = 4


@attrs.frozen
class Token:
    """One normalised token, and where its text is in the source (for showing matches)."""

    kind: str
    start: int
    end: int  # character offsets into the source
    line: int


@attrs.frozen
class Fingerprint:
    hash: int
    first: int  # index of its k-gram's first token


@attrs.frozen
class Program:
    """One submission, fingerprinted; ``label`` says whose (a name, or a file)."""

    label: str
    source: str
    tokens: tuple[Token, ...]
    prints: tuple[Fingerprint, ...]

    @property
    def hashes(self) -> set[int]:
        return {p.hash for p in self.prints}


def _kind(ttype: object, text: str) -> str | None:
    """The class a token counts as; None for what is left out (space, comments)."""
    if ttype in Text or ttype in Comment:
        return None
    if ttype in String:
        return "S"
    if ttype in Number:
        return "N"
    if ttype in Keyword or ttype in Operator or ttype in Punctuation:
        return text
    if ttype in Name.Builtin or ttype in Name.Function.Magic:
        return text  # print, len, main: part of the program's shape
    if ttype in Name:
        return "V"
    return text.strip() or None


def tokens(source: str, language: str) -> tuple[Token, ...]:
    """``source`` as normalised tokens (unknown languages are read as plain words)."""
    spec = next((spec for spec in LANGUAGE_TABLE if spec.name == language), None)
    lexer_name = "text" if spec is None else spec.lexer  # the grading table names each lexer
    lexer = get_lexer_by_name(lexer_name, stripnl=False, ensurenl=False)
    found: list[Token] = []
    line = 1
    for start, ttype, text in lexer.get_tokens_unprocessed(source):
        kind = _kind(ttype, text)
        if kind is not None:
            found.append(Token(kind, start, start + len(text), line))
        line += text.count("\n")
    return tuple(found)


def _hash(gram: Iterable[str]) -> int:
    digest = hashlib.blake2b("\x1f".join(gram).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def fingerprint(
    label: str,
    source: str,
    language: str,
    *,
    ignore: Iterable[int] = (),
    k: int = K,
    w: int = W,
) -> Program:
    """``source``'s winnowed fingerprints, less those in ``ignore`` (the hashes of the
    problem's examples and starter code, which everyone is expected to share)."""
    toks = tokens(source, language)
    grams = [_hash(t.kind for t in toks[i : i + k]) for i in range(len(toks) - k + 1)]
    skipped = set(ignore)
    chosen: dict[int, Fingerprint] = {}
    for i in range(max(len(grams) - w + 1, 1 if grams else 0)):
        window = grams[i : i + w]
        low = min(window)
        first = i + max(j for j, h in enumerate(window) if h == low)
        if low not in skipped:
            chosen.setdefault(first, Fingerprint(low, first))
    return Program(label, source, toks, tuple(chosen[i] for i in sorted(chosen)))


def all_hashes(source: str, language: str, k: int = K) -> set[int]:
    """Every k-gram hash of ``source`` (not winnowed): what to leave out of others."""
    toks = tokens(source, language)
    return {_hash(t.kind for t in toks[i : i + k]) for i in range(len(toks) - k + 1)}


def similarity(a: Program, b: Program) -> float:
    """The share of the smaller program's fingerprints the other holds too (0 to 1): a
    short program copied into a long one still scores high, as MOSS reports it."""
    small = min(len(a.hashes), len(b.hashes))
    return len(a.hashes & b.hashes) / small if small else 0.0


@attrs.frozen
class Region:
    """A run of matching tokens: lines ``a_lines`` of one program, ``b_lines`` of the other."""

    a_lines: tuple[int, int]
    b_lines: tuple[int, int]
    a_text: str
    b_text: str
    tokens: int


def regions(a: Program, b: Program, k: int = K) -> tuple[Region, ...]:
    """The matching regions, each grown from a shared fingerprint to the longest run of equal
    tokens around it, longest first; overlapping runs are reported once."""
    in_b: dict[int, list[int]] = {}
    for p in b.prints:
        in_b.setdefault(p.hash, []).append(p.first)
    found: list[tuple[int, int, int]] = []  # (a start, b start, length)
    covered: set[int] = set()
    for p in a.prints:
        if p.first in covered:
            continue
        for j in in_b.get(p.hash, ()):
            i, jj = p.first, j
            while i > 0 and jj > 0 and a.tokens[i - 1].kind == b.tokens[jj - 1].kind:
                i, jj = i - 1, jj - 1
            n = 0
            while (
                i + n < len(a.tokens)
                and jj + n < len(b.tokens)
                and a.tokens[i + n].kind == b.tokens[jj + n].kind
            ):
                n += 1
            if n >= k:
                found.append((i, jj, n))
                covered.update(range(i, i + n))
                break
    found.sort(key=lambda r: (-r[2], r[0], r[1]))
    return tuple(_region(a, b, i, j, n) for i, j, n in found)


def _region(a: Program, b: Program, i: int, j: int, n: int) -> Region:
    return Region(
        (a.tokens[i].line, a.tokens[i + n - 1].line),
        (b.tokens[j].line, b.tokens[j + n - 1].line),
        _lines(a.source, a.tokens[i].line, a.tokens[i + n - 1].line),
        _lines(b.source, b.tokens[j].line, b.tokens[j + n - 1].line),
        n,
    )


def _lines(source: str, first: int, last: int) -> str:
    return "\n".join(source.splitlines()[first - 1 : last])


def rank(programs: Sequence[Program]) -> list[tuple[float, Program, Program]]:
    """Every pair, most similar first (ties by label, so the order is always the same)."""
    pairs = [(similarity(a, b), a, b) for x, a in enumerate(programs) for b in programs[x + 1 :]]
    pairs.sort(key=lambda t: (-t[0], t[1].label, t[2].label))
    return pairs
