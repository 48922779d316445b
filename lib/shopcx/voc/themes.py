"""Theme tagging of customer text with an editable, explainable taxonomy.

The taxonomy (``params/voc_taxonomy.yaml``) is a two-level hierarchy of themes
whose rules are phrase lists per language with any-of / all-of / none-of
combinations. Matching is offline and deterministic:

* text and phrases are normalised the same way: Unicode NFKC, case folded,
  accents removed from Latin letters (``hoàn tiền`` = ``hoan tien``, đ = d),
  while Thai vowel and tone marks are kept;
* phrases match word by word in order, allowing one extra word between two
  phrase words; ``*`` at the end of a word matches any ending (inflections),
  ``*`` alone matches any one word; a phrase word of six letters or more also
  matches a word one edit away (typos);
* a phrase word of four letters or more also matches a word with the same
  stem (Snowball stemmers of the ``snowballstemmer`` package for English,
  Indonesian, Portuguese and Spanish; Malay uses the Indonesian one), so
  ``delivery`` finds ``delivered`` and ``reembolso`` finds ``reembolsado``;
* Thai, written without spaces, is matched as a substring of the text with
  its spaces removed.

Phrases apply in their own language, and English phrases in every language
(code-mixing: "refund belum masuk" is Indonesian with an English word);
Indonesian and Malay phrases apply to each other's texts; a text whose
language is unknown is matched against every language's phrases.

Each top-level theme also has *mention* rules, the general ways people name
the topic ("cancel", "batal", "ยกเลิก", "hủy đơn", ...). A text that mentions
a top theme but fits none of its sub-themes gets ``<top>/other``, so it is
counted rather than lost. How negation and questions are treated, per rule
type, is in docs/voc.md.

Every match reports the rule that fired, so a tag can always be explained.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

from shopcx.errors import InputError
from shopcx.params import load_yaml, params_file

__all__ = [
    "LANGUAGES",
    "OWNERS",
    "TOP_THEMES",
    "Match",
    "Taxonomy",
    "Theme",
    "load_taxonomy",
    "normalize",
    "tokenize",
]

TOP_THEMES = ("cancellation", "refund", "delivery", "seller", "payment", "product", "service",
              "app")
OWNERS = ("product", "logistics", "seller operations", "payments", "customer service")
LANGUAGES = ("en", "id", "ms", "th", "vi", "pt", "es")
FUZZY_MIN = 7
# real words one letter apart from a phrase word: never read as its typo
NOT_TYPOS = frozenset({"shopping", "shipping", "stopping", "chopping", "dropping", "charged", "spending",
                       "changed"})
# words whose stem would join them to a word of another meaning: matched only as written
# ("packaging", the wrapping, is not "package", the parcel)
NOT_STEMMED = frozenset({"packaging", "packagings"})
# phrases of these languages also apply to a text in the key's language (besides English,
# which applies everywhere: English words inside Malay, Thai or Indonesian chat are common)
RELATED = {"id": {"id", "ms"}, "ms": {"ms", "id"}}
STEM_MIN = 4
STEMMERS = {"en": "english", "id": "indonesian", "ms": "indonesian", "pt": "portuguese",
            "es": "spanish"}
THAI = re.compile(r"[\u0e00-\u0e7f]")
TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


@lru_cache(maxsize=8)
def _stemmer(algorithm: str) -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer(algorithm)


_STEMS: dict[tuple[str, str], str] = {}  # (algorithm, word) -> stem; cleared when large


def stem(word: str, language: str) -> str | None:
    """The word's Snowball stem in a language, or None (no stemmer, short word, wildcard).

    >>> stem("delivered", "en"), stem("reembolsado", "pt"), stem("ส่ง", "th")
    ('deliv', 'reembols', None)
    """
    algorithm = STEMMERS.get(language)
    if algorithm is None or len(word) < STEM_MIN or word.endswith("*"):
        return None
    return _stem(word, algorithm)


def _stem(word: str, algorithm: str) -> str:
    key = (algorithm, word)
    hit = _STEMS.get(key)
    if hit is None:
        if len(_STEMS) > 2_000_000:
            _STEMS.clear()
        hit = _STEMS[key] = _stemmer(algorithm).stemWord(word)
    return hit


# combining marks (any run of them) that follow a Latin letter: the accents to drop
_LATIN_ACCENTS = re.compile(r"(?<=[\x00-\u024f\u1e00-\u1eff])[\u0300-\u036f\u1ab0-\u1aff"
                            r"\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def normalize(text: str) -> str:
    """Case-folded text without accents on Latin letters (Thai marks kept).

    >>> normalize("Hoàn TIỀN chậm, đơn HỦY")
    'hoan tien cham, don huy'
    >>> normalize("ยังไม่ได้เงินคืน") == "ยังไม่ได้เงินคืน"
    True
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    if text.isascii():
        return text
    text = _LATIN_ACCENTS.sub("", unicodedata.normalize("NFD", text.replace("đ", "d")))
    return unicodedata.normalize("NFC", text)


def tokenize(normalized: str) -> list[str]:
    """Words of a normalised text (apostrophes kept inside words).

    >>> tokenize("couldn't cancel - copy-pasted!")
    ["couldn't", 'cancel', 'copy', 'pasted']
    """
    return TOKEN.findall(normalized.replace("’", "'"))


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: fast set lookups
class Phrase:
    """One phrase of a rule, compiled."""

    text: str
    language: str
    words: tuple[str, ...]
    thai: str | None
    stems: dict[str, str | None] = field(default_factory=dict)  # each word's stem

    def __post_init__(self) -> None:
        self.stems.update({w: stem(w, self.language) for w in self.words})

    def _word_matches(self, pattern: str, word: str) -> bool:
        if word == pattern or pattern == "*":
            return True
        if pattern[-1] == "*":
            return word.startswith(pattern[:-1])
        pattern_stem = self.stems[pattern]
        if (pattern_stem is not None and len(word) >= STEM_MIN and word not in NOT_STEMMED
                and stem(word, self.language) == pattern_stem):
            return True
        return (len(pattern) >= FUZZY_MIN and abs(len(word) - len(pattern)) <= 1
                and word not in NOT_TYPOS
                and Levenshtein.distance(word, pattern, score_cutoff=1) <= 1)

    def find(self, words: list[str], compact: str, starts: list[int] | None = None) -> bool:
        """Whether the phrase occurs in a text (its words, and its spaceless form).

        ``starts``: the only positions where its first word can be (all when None).
        """
        if self.thai is not None:
            return self.thai in compact
        first, rest = self.words[0], self.words[1:]
        for i in range(len(words)) if starts is None else starts:
            if not self._word_matches(first, words[i]):
                continue
            pos = i
            for pattern in rest:
                nxt = next((j for j in range(pos + 1, min(pos + 3, len(words)))
                            if self._word_matches(pattern, words[j])), None)
                if nxt is None:
                    break
                pos = nxt
            else:
                return True
        return False


def _compile(text: str, language: str, where: str) -> Phrase:
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where}: a phrase must be non-empty text")
    norm = normalize(text)
    if THAI.search(norm):
        return Phrase(text, language, (), norm.replace(" ", ""))
    words = tuple(re.findall(r"[^\W_]+(?:['][^\W_]+)*\*?|\*", norm))
    if not words:
        raise InputError(f"{where}: phrase {text!r} has no words")
    return Phrase(text, language, words, None)


@dataclass(frozen=True)
class Match:
    """A theme found in a text, with the rule that fired."""

    theme: str      # "top/sub"
    rule: str       # e.g. "any[en] 'cancel* reject*'"
    language: str


@dataclass
class Theme:
    """One sub-theme: its rules, owner team and recommended action."""

    id: str
    top: str
    label: str
    top_label: str
    owner: str
    action: str
    any: list[Phrase] = field(default_factory=list)
    all: list[list[Phrase]] = field(default_factory=list)
    none: list[Phrase] = field(default_factory=list)
    mentions: list[Theme] = field(default_factory=list)  # only for ``top/other``
    alone: bool = False  # (a mention rule set) only when the text has no other theme at all
    unless: tuple[str, ...] = ()  # top/other not when the text has one of these top themes

    def phrases(self) -> list[Phrase]:
        own = [*self.any, *(p for g in self.all for p in g), *self.none]
        return own + [p for m in self.mentions for p in m.phrases()]

    def match_other(self, found: set[Phrase], alone: bool = False) -> Match | None:
        """For ``top/other``: the first mention rule set the text meets, or None.

        ``alone``: the rule sets that count only when the text has no other theme.
        """
        for rules in self.mentions:
            if rules.alone == alone and (m := rules.match(found)) is not None:
                return Match(self.id, f"mention {m.rule}", m.language)
        return None

    def match(self, found: set[Phrase]) -> Match | None:
        """The theme's match given the set of phrases found in a text, or None."""
        fired = None
        if self.any:
            fired = next((p for p in self.any if p in found), None)
            if fired is None:
                return None
        for group in self.all:
            hit = next((p for p in group if p in found), None)
            if hit is None:
                return None
            fired = fired or hit
        if any(p in found for p in self.none):
            return None
        assert fired is not None
        kind = "any" if fired in self.any else "all"
        return Match(self.id, f"{kind}[{fired.language}] {fired.text!r}", fired.language)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))} | {word}


class _Index:
    """Which phrases can start at a word: exact, prefix (``word*``) and one-typo lookups."""

    def __init__(self, phrases: Iterable[Phrase]) -> None:
        self.exact: dict[str, list[Phrase]] = defaultdict(list)
        self.prefix: dict[str, list[Phrase]] = defaultdict(list)  # keyed by 3 first letters
        self.fuzzy: dict[str, list[Phrase]] = defaultdict(list)   # keyed by deletion variants
        self.stems: dict[tuple[str, str], list[Phrase]] = defaultdict(list)  # (algorithm, stem)
        self.always: list[Phrase] = []
        self.thai: list[Phrase] = []
        for p in set(phrases):
            if p.thai is not None:
                self.thai.append(p)
                continue
            first = p.words[0]
            if first == "*" or (first.endswith("*") and len(first) < 4):
                self.always.append(p)
            elif first.endswith("*"):
                self.prefix[first[:3]].append(p)
            else:
                self.exact[first].append(p)
                if (first_stem := stem(first, p.language)) is not None:
                    self.stems[(STEMMERS[p.language], first_stem)].append(p)
                if len(first) >= FUZZY_MIN:
                    for variant in _deletions(first):
                        self.fuzzy[variant].append(p)

        self.algorithms = sorted({algo for algo, _ in self.stems})  # ms and id share one

        self._by_word: dict[str, tuple[Phrase, ...]] = {}

    def _starting_at(self, w: str) -> tuple[Phrase, ...]:
        """Phrases whose first word may be ``w`` (memoised per word)."""
        hit = self._by_word.get(w)
        if hit is None:
            out: set[Phrase] = set(self.exact.get(w, ()))
            out.update(self.prefix.get(w[:3], ()))
            if len(w) >= STEM_MIN and w not in NOT_STEMMED:
                for algo in self.algorithms:
                    out.update(self.stems.get((algo, _stem(w, algo)), ()))
            if len(w) >= FUZZY_MIN - 1:
                for variant in _deletions(w):
                    out.update(self.fuzzy.get(variant, ()))
            hit = tuple(out)
            if len(self._by_word) < 500_000:
                self._by_word[w] = hit
        return hit

    def candidates(self, words: list[str], has_thai: bool) -> dict[Phrase, list[int] | None]:
        """Phrases that may occur, with the positions their first word may be at."""
        out: dict[Phrase, list[int] | None] = dict.fromkeys(self.always)
        if has_thai:
            out.update(dict.fromkeys(self.thai))
        for i, w in enumerate(words):
            for p in self._starting_at(w):
                if p not in out:
                    out[p] = [i]
                elif (starts := out[p]) is not None:
                    starts.append(i)
        return out


@dataclass
class Taxonomy:
    """The compiled taxonomy; :meth:`tag` finds every theme of a text."""

    themes: dict[str, Theme]
    source: str = ""
    _index: _Index | None = field(default=None, repr=False)

    def tag(self, text: str | None, language: str | None = None) -> list[Match]:
        """Every theme the text carries (possibly several), in taxonomy order.

        ``language``: the text's ISO 639-1 code; phrases of other languages than
        it (English aside) are not used. None: all phrases are.
        """
        if text is None or not isinstance(text, str) or not text.strip():
            return []
        if self._index is None:
            self._index = _Index(p for t in self.themes.values() for p in t.phrases())
        norm = normalize(text)
        words = tokenize(norm)
        has_thai = bool(THAI.search(norm))
        compact = norm.replace(" ", "") if has_thai else ""
        allowed = (None if language not in LANGUAGES
                   else RELATED.get(language, {language}) | {"en"})
        found = {p for p, starts in self._index.candidates(words, has_thai).items()
                 if (allowed is None or p.language in allowed or p.thai is not None)
                 and p.find(words, compact, starts)}
        if not found:
            return []
        subs = [m for t in self.themes.values() if not t.mentions and (m := t.match(found))]
        tops = {m.theme.split("/")[0] for m in subs}
        others = {t.id: m for t in self.themes.values()
                  if t.mentions and t.top not in tops and (m := t.match_other(found))}
        tops |= {k.split("/")[0] for k in others}
        others = {k: m for k, m in others.items() if not set(self.themes[k].unless) & tops}
        if not subs and not others:  # "seller" or "app" name the topic only when alone
            others = {t.id: m for t in self.themes.values()
                      if t.mentions and (m := t.match_other(found, alone=True))}
        by_id = {m.theme: m for m in subs} | others
        return [by_id[k] for k in self.themes if k in by_id]

    def owners(self) -> dict[str, str]:
        return {k: t.owner for k, t in self.themes.items()}

    def frame(self) -> Any:
        """The themes as a table: id, top, label, owner, action."""
        import pandas as pd

        return pd.DataFrame([{"theme": t.id, "top": t.top, "top_label": t.top_label,
                              "label": t.label, "owner": t.owner, "action": t.action}
                             for t in self.themes.values()])


def _phrases(value: Any, where: str) -> list[Phrase]:
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected phrases by language, e.g. {{en: [...], id: [...]}}")
    out = []
    for lang, phrases in value.items():
        if lang not in LANGUAGES:
            raise InputError(f"{where}: unknown language {lang!r} (known: {', '.join(LANGUAGES)})")
        if not isinstance(phrases, list):
            raise InputError(f"{where}.{lang}: expected a list of phrases")
        out += [_compile(p, lang, f"{where}.{lang}[{i}]") for i, p in enumerate(phrases)]
    return out


def _check_spec(spec: Any, where: str, keys: set[str]) -> None:
    if not isinstance(spec, dict):
        raise InputError(f"{where}: expected {', '.join(sorted(keys))}")
    unknown = set(spec) - keys
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if spec.get("owner") not in OWNERS:
        raise InputError(f"{where}: owner must be one of {', '.join(OWNERS)}")


def _rules(rules: Any, where: str) -> dict[str, Any]:
    """A rule set's phrases: any, all (groups), none."""
    rules = rules or {}
    if not isinstance(rules, dict) or not set(rules) <= {"any", "all", "none"} or not (
            rules.get("any") or rules.get("all")):
        raise InputError(f"{where}: needs 'any' or 'all' (and optionally 'none')")
    all_groups = rules.get("all") or []
    if not isinstance(all_groups, list):
        raise InputError(f"{where}.all: expected a list of phrase groups")
    return {"any": _phrases(rules["any"], f"{where}.any") if rules.get("any") else [],
            "all": [_phrases(g, f"{where}.all[{i}]") for i, g in enumerate(all_groups)],
            "none": _phrases(rules["none"], f"{where}.none") if rules.get("none") else []}


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load and check a taxonomy file (default: the project's ``params/voc_taxonomy.yaml``)."""
    path = params_file(path, "voc_taxonomy.yaml")
    data = load_yaml(path)
    where = str(path)
    if set(data) != {"themes"}:
        raise InputError(f"{where}: expected one top-level key 'themes'")
    themes: dict[str, Theme] = {}
    for top, body in (data["themes"] or {}).items():
        w = f"{where}: themes.{top}"
        if top not in TOP_THEMES:
            raise InputError(f"{w}: top-level theme must be one of {', '.join(TOP_THEMES)}")
        if not isinstance(body, dict) or not (body.get("subthemes") or body.get("other")):
            raise InputError(f"{w}: needs a label and subthemes (or other)")
        unknown = set(body) - {"label", "subthemes", "other"}
        if unknown:
            raise InputError(f"{w}: unknown key(s) {', '.join(sorted(unknown))}")
        top_label = str(body.get("label") or top)
        for sub, spec in (body.get("subthemes") or {}).items():
            ws = f"{w}.subthemes.{sub}"
            if not re.fullmatch(r"[a-z][a-z0-9_]*", str(sub)) or sub == "other":
                raise InputError(f"{ws}: theme ids are lower-case snake_case, not 'other'")
            _check_spec(spec, ws, {"label", "owner", "action", "rules"})
            themes[f"{top}/{sub}"] = Theme(
                id=f"{top}/{sub}", top=top, label=str(spec.get("label") or sub),
                top_label=top_label, owner=spec["owner"], action=str(spec.get("action") or ""),
                **_rules(spec.get("rules"), f"{ws}.rules"))
        if "other" in body:
            spec = body["other"]
            wo = f"{w}.other"
            _check_spec(spec, wo, {"label", "owner", "action", "mentions", "alone", "unless"})
            unless = spec.get("unless") or []
            if not isinstance(unless, list) or not set(unless) <= set(TOP_THEMES):
                raise InputError(f"{wo}.unless: expected a list of top-level themes")
            mentions = spec.get("mentions")
            if (not isinstance(mentions, list) or not mentions
                    or not all(isinstance(r, dict) for r in mentions)):
                raise InputError(f"{wo}.mentions: expected a list of rule sets "
                                 "(each with any/all/none)")
            default_alone = bool(spec.get("alone", False))
            themes[f"{top}/other"] = Theme(
                id=f"{top}/other", top=top, label=str(spec.get("label") or f"Other {top}"),
                top_label=top_label, owner=spec["owner"], action=str(spec.get("action") or ""),
                unless=tuple(unless),
                mentions=[Theme(id=f"{top}/other", top=top, label="", top_label="", owner="",
                                action="", alone=bool(r.get("alone", default_alone)),
                                **_rules({k: v for k, v in r.items() if k != "alone"},
                                         f"{wo}.mentions[{i}]"))
                          for i, r in enumerate(mentions)])
    if not themes:
        raise InputError(f"{where}: no themes")
    return Taxonomy(themes, where)


def themes_by_top(matches: Iterable[Match]) -> dict[str, list[str]]:
    """Group theme ids by their top-level theme."""
    out: dict[str, list[str]] = defaultdict(list)
    for m in matches:
        out[m.theme.split("/")[0]].append(m.theme)
    return dict(out)
