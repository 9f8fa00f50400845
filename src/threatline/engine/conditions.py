"""The declarative condition language of rules (no eval, no code in rules).

A condition is YAML data:

    all: [cond, ...]          every one holds
    any: [cond, ...]          at least one holds
    not: cond                 it does not hold
    <fact>: <matcher>         a test on one fact of the element

A mapping with several keys holds when every key holds. A matcher is either a
plain value (equality; for a list fact: the list contains it) or a mapping of
operators: eq, ne, in, not_in, any, all, none, contains, contains_any,
mentions_any, gt, gte, lt, lte, below, above, exists. ``mentions_any`` finds a
phrase the way a reader would: at the start of a word, not negated in its clause
("no shared accounts" does not mention "shared account"), see find_mention. Ordered facts (trust, classification) compare by
their scale, e.g. ``zone.trust: {lte: partner}`` or
``source.zone.trust: {below: target.zone.trust}``.

Conditions are compiled once into closures; compiling checks every fact name
and operator, so a typo in a rule pack is an error at load time.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from threatline.model.architecture import CLASSIFICATION_ORDER, TRUST_ORDER

Facts = Mapping[str, Any]
Predicate = Callable[[Facts], bool]

SCALES: dict[str, list[str]] = {"trust": TRUST_ORDER, "classification": CLASSIFICATION_ORDER}


@dataclass(frozen=True)
class FactSpec:
    kind: str  # "str" | "bool" | "int" | "list" | "trust" | "classification" | "any"
    doc: str


class ConditionError(ValueError):
    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


OPERATORS = {
    "eq", "ne", "in", "not_in", "any", "all", "none", "contains", "contains_any", "mentions_any",
    "gt", "gte", "lt", "lte", "below", "above", "exists",
}


def _rank(scale: list[str], value: Any) -> int | None:
    if value is None:
        return None
    try:
        return scale.index(str(value))
    except ValueError:
        return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


class Compiler:
    """Compiles conditions against a vocabulary of facts (one per element kind)."""

    def __init__(self, vocabulary: Mapping[str, FactSpec], open_prefixes: Iterable[str] = ()):
        self.vocabulary = vocabulary
        self.open_prefixes = tuple(open_prefixes)

    def spec(self, fact: str, path: str) -> FactSpec:
        if fact in self.vocabulary:
            return self.vocabulary[fact]
        for prefix in self.open_prefixes:
            if fact.startswith(prefix) and len(fact) > len(prefix):
                return FactSpec("any", "free-form property")
        close = difflib.get_close_matches(fact, list(self.vocabulary), n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConditionError(path, f"unknown fact '{fact}'{hint}")

    def compile(self, cond: Any, path: str = "when") -> Predicate:
        if isinstance(cond, list):
            # An empty list would silently hold for every element.
            return self._all([self.compile(c, f"{path}[{i}]") for i, c in enumerate(_seq(cond, path))])
        if not isinstance(cond, dict) or not cond:
            raise ConditionError(path, "a condition is a non-empty mapping")
        parts: list[Predicate] = []
        for key, value in cond.items():
            sub = f"{path}.{key}"
            if key == "all":
                parts.append(self._all([self.compile(c, f"{sub}[{i}]") for i, c in enumerate(_seq(value, sub))]))
            elif key == "any":
                preds = [self.compile(c, f"{sub}[{i}]") for i, c in enumerate(_seq(value, sub))]
                parts.append(_any(preds))
            elif key == "not":
                inner = self.compile(value, sub)
                parts.append(lambda f, inner=inner: not inner(f))
            else:
                parts.append(self._fact(str(key), value, sub))
        return self._all(parts)

    @staticmethod
    def _all(preds: list[Predicate]) -> Predicate:
        if len(preds) == 1:
            return preds[0]
        return _every(preds)

    def _fact(self, fact: str, matcher: Any, path: str) -> Predicate:
        spec = self.spec(fact, path)
        if isinstance(matcher, list):
            raise ConditionError(path, "a list needs an operator: {in: [...]}, {any: [...]} or {all: [...]}")
        if not isinstance(matcher, dict):
            return self._op(fact, spec, "eq", matcher, path)
        if not matcher:
            raise ConditionError(path, "empty matcher")
        preds = []
        for op, operand in matcher.items():
            if op not in OPERATORS:
                close = difflib.get_close_matches(str(op), sorted(OPERATORS), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ConditionError(f"{path}.{op}", f"unknown operator '{op}'{hint}")
            preds.append(self._op(fact, spec, str(op), operand, f"{path}.{op}"))
        return self._all(preds)

    def _check_level(self, spec: FactSpec, value: Any, path: str) -> None:
        scale = SCALES.get(spec.kind)
        if scale is not None:
            for v in _as_list(value):
                if str(v) not in scale:
                    raise ConditionError(path, f"'{v}' is not a {spec.kind} level ({', '.join(scale)})")

    def _op(self, fact: str, spec: FactSpec, op: str, operand: Any, path: str) -> Predicate:
        scale = SCALES.get(spec.kind)
        is_list = spec.kind == "list"

        if op == "exists":
            want = bool(operand)
            return lambda f: (_present(f.get(fact))) == want
        if op in ("below", "above"):
            other = str(operand)
            other_spec = self.spec(other, path)
            if scale is None or other_spec.kind != spec.kind:
                raise ConditionError(path, f"'{op}' compares two {spec.kind if scale else 'ordered'} facts of the same scale")
            sign = -1 if op == "below" else 1

            def compare(f: Facts) -> bool:
                a, b = _rank(scale, f.get(fact)), _rank(scale, f.get(other))
                if a is None or b is None:
                    return False
                return (a - b) * sign > 0

            return compare
        if op in ("gt", "gte", "lt", "lte"):
            if scale is not None:
                self._check_level(spec, operand, path)
                ref = scale.index(str(operand))

                def key(v: Any) -> int | None:
                    return _rank(scale, v)
            elif spec.kind in ("int", "any"):
                if not isinstance(operand, (int, float)) or isinstance(operand, bool):
                    raise ConditionError(path, f"'{op}' needs a number for fact '{fact}'")
                ref = operand

                def key(v: Any) -> Any:
                    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
            else:
                raise ConditionError(path, f"'{op}' does not apply to {spec.kind} fact '{fact}'")
            cmp = {
                "gt": lambda a: a > ref, "gte": lambda a: a >= ref,
                "lt": lambda a: a < ref, "lte": lambda a: a <= ref,
            }[op]

            def ordered(f: Facts) -> bool:
                k = key(f.get(fact))
                return k is not None and cmp(k)

            return ordered
        if op == "mentions_any":
            phrases = _phrases(operand, path)

            def mentions_any(f: Facts) -> bool:
                return find_mention(_text(f.get(fact)), phrases) is not None

            return mentions_any
        if op in ("in", "not_in", "any", "all", "none", "contains_any"):
            if not isinstance(operand, list):
                raise ConditionError(path, f"'{op}' takes a list")
            self._check_level(spec, operand, path)
            wanted = frozenset(_norm(v) for v in operand)
            if op == "contains_any":
                needles = [str(v).lower() for v in operand]

                def contains_any(f: Facts) -> bool:
                    text = _text(f.get(fact))
                    for n in needles:  # noqa: SIM110 - a plain loop, see _every
                        if n in text:
                            return True
                    return False

                return contains_any
            if op == "all":
                return lambda f: wanted <= frozenset(_norm_items(f.get(fact)))
            if op in ("in", "any"):
                if is_list or spec.kind == "any":
                    return lambda f: not wanted.isdisjoint(_norm_items(f.get(fact)))
                return lambda f: _norm(f.get(fact)) in wanted
            # not_in / none
            if is_list or spec.kind == "any":
                return lambda f: wanted.isdisjoint(_norm_items(f.get(fact)))
            return lambda f: _norm(f.get(fact)) not in wanted
        if op == "contains":
            needle = str(operand).lower()
            if is_list:
                return lambda f: needle in _norm_items(f.get(fact))
            return lambda f: needle in _text(f.get(fact))
        # eq / ne
        if isinstance(operand, (list, dict)):
            raise ConditionError(path, f"'{op}' compares with one value; for several use 'in' or 'not_in'")
        self._check_level(spec, operand, path)
        value = _norm(operand)
        if is_list:
            pred: Predicate = lambda f: value in _norm_items(f.get(fact))  # noqa: E731
        elif spec.kind == "any":
            # Free-form facts may hold a list at run time: then equality means membership,
            # as it does for list facts.
            def pred(f: Facts) -> bool:
                v = f.get(fact)
                if isinstance(v, (list, tuple)):
                    return value in (_norm(x) for x in v)
                return _norm(v) == value
        else:
            pred = lambda f: _norm(f.get(fact)) == value  # noqa: E731
        if op == "ne":
            return lambda f: not pred(f)
        return pred


# Conditions run for every rule on every element: plain loops rather than
# all()/any() over generators, which cost a generator object per call.
def _every(preds: list[Predicate]) -> Predicate:
    def every(f: Facts) -> bool:
        for p in preds:  # noqa: SIM110 - see above
            if not p(f):
                return False
        return True

    return every


def _any(preds: list[Predicate]) -> Predicate:
    def some(f: Facts) -> bool:
        for p in preds:  # noqa: SIM110 - see above
            if p(f):
                return True
        return False

    return some


def _norm_items(value: Any) -> list[Any]:
    """_norm of each item of a fact read as a list."""
    if type(value) is list:
        return [v.lower() if type(v) is str else _norm(v) for v in value]
    return [_norm(v) for v in _as_list(value)]


def _seq(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise ConditionError(path, "takes a non-empty list of conditions")
    return value


def _present(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, (list, tuple, set, frozenset, str, dict)):
        return len(value) > 0
    return True


def _norm(value: Any) -> Any:
    if type(value) is str:  # the common case first; the same as str(value).lower() below
        return value.lower()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value
    return str(value).lower()


def _text(value: Any) -> str:
    if type(value) is str:  # the common case first
        return value.lower()
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join([str(v).lower() for v in value])
    return str(value).lower()


# ---------------------------------------------------------------- mentions
# Words that, shortly before a phrase in the same clause, deny it ("no shared
# accounts", "never rotated", "replaced the default password"), and words that deny
# it shortly after ("shared accounts are disabled"). A clause ends at . ; : ! ? ( ) ,
# and new lines, so "not yet done; SAS keys today" still mentions "sas keys".
_NEGATING_BEFORE = frozenset({
    "no", "not", "never", "without", "non", "nor", "neither", "none", "cannot", "instead", "rather",
    "replaced", "replaces", "replace", "removed", "removes", "remove", "eliminated", "eliminates",
    "prevent", "prevents", "prevented", "block", "blocks", "blocked", "forbid", "forbids",
    "forbidden", "prohibit", "prohibits", "prohibited", "disallow", "disallows", "disallowed",
    "reject", "rejects", "rejected", "refuse", "refuses", "refused", "avoid", "avoids", "avoided",
    "deny", "denies", "denied", "disable", "disables", "disabled", "bans", "banned", "nothing",
})
_NEGATING_AFTER = frozenset({
    "disabled", "blocked", "forbidden", "prohibited", "disallowed", "denied", "removed",
    "eliminated", "rejected", "banned", "retired", "decommissioned",
})
_WORDS_BEFORE, _WORDS_AFTER = 4, 3
_CLAUSE_END = re.compile(r"[.;:!?(),\n]\s|[;:!?()\n]|[.,]$")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class Phrases:
    """The phrases of one mentions_any, ready to look for: (phrase, prefix, rest) triples,
    where a trailing * in the rule matches any word ending ('self-approv*') and `rest`,
    for a phrase with gaps ('shared ... login'), matches what follows its first part; and
    the words one of them must begin with. Most texts contain none of those words:
    checking that on the text's set of words (one per text, cached) rejects them without
    a search per phrase."""

    items: tuple[tuple[str, bool, re.Pattern[str] | None], ...]
    first_words: frozenset[str]
    unanchored: bool  # some phrase does not begin with a whole word: always search


def _phrases(operand: Any, path: str) -> Phrases:
    if not isinstance(operand, list) or not operand:
        raise ConditionError(path, "'mentions_any' takes a non-empty list of phrases")
    items: list[tuple[str, bool, re.Pattern[str] | None]] = []
    first_words: set[str] = set()
    unanchored = False
    for v in operand:
        text = " ".join(str(v).lower().split())
        prefix = text.endswith("*")
        text = text.rstrip("*").strip()
        parts = [p.strip() for p in text.split("...")]
        if not text or not all(parts):
            raise ConditionError(path, f"'{v}' is not a phrase ('...' goes between words: 'shared ... login')")
        text, rest = parts[0], _gap_pattern(parts[1:]) if len(parts) > 1 else None
        items.append((text, prefix, rest))
        words = _TOKEN.findall(text)
        if not words or not text.startswith(words[0]) or (prefix and len(words) == 1):
            unanchored = True  # '*:*', '.env', 'impersonat*': no whole first word to look for
        elif len(words) == 1 and len(words[0]) == len(text):
            first_words.update((words[0], words[0] + "s", words[0] + "es"))  # the plural a mention allows
        else:
            first_words.add(words[0])
    return Phrases(tuple(items), frozenset(first_words), unanchored)


_TOKEN = re.compile(r"[^\W_]+")
_GAP_WORDS = 2  # '...' in a phrase stands for up to this many words of the same clause


def _gap_pattern(parts: list[str]) -> re.Pattern[str]:
    """What must follow a gapped phrase's first part: each later part after at most
    _GAP_WORDS words (no clause break between), starting on a word boundary."""
    gap = rf"(?:[ \t]+[\w'\"\u2018\u2019\u201c\u201d/-]+){{0,{_GAP_WORDS}}}[ \t]+"
    return re.compile("".join(gap + re.escape(part) for part in parts))


@lru_cache(maxsize=4096)
def _words(text: str) -> frozenset[str]:
    return frozenset(_TOKEN.findall(text))


def _negated(words: list[str]) -> bool:
    return any(w in _NEGATING_BEFORE or w.endswith("n't") for w in words)


def find_mention(text: str, phrases: Phrases) -> tuple[int, int] | None:
    """Where `text` (lower-cased) first mentions one of the phrases, as (start, end), or None.

    A mention starts at a word boundary and ends at one (or continues with a plural
    s/es, or with any letters for a phrase written with a trailing *), and is not
    negated in its clause: none of the four words before it, and none of the three
    after it that mark a denial, says otherwise. A phrase that carries its own
    negation ("no mfa", "not rotated") is a mention of the weakness itself."""
    if not text or (not phrases.unanchored and phrases.first_words.isdisjoint(_words(text))):
        return None
    for phrase, prefix, rest in phrases.items:
        start = text.find(phrase)
        while start != -1:
            if _word_start(text, start):
                end: int | None = start + len(phrase)
                if rest is not None:  # the first part ends a word (plural allowed), the rest follows
                    first_end = _word_end(text, end)
                    gapped = rest.match(text, first_end) if first_end is not None else None
                    end = gapped.end() if gapped else None
                if end is not None:
                    end = _extend(text, end, prefix)
                if end is not None and not _denied(text, start, end):
                    return start, end
            start = text.find(phrase, start + 1)
    return None


def _word_start(text: str, i: int) -> bool:
    return i == 0 or not text[i - 1].isalnum()


def _word_end(text: str, end: int) -> int | None:
    """The end of the mention when the phrase ends a word here (with a plural s/es allowed)."""
    for suffix in ("", "s", "es"):
        stop = end + len(suffix)
        if text.startswith(suffix, end) and (stop >= len(text) or not text[stop].isalnum()):
            return stop
    return None


def _extend(text: str, end: int, prefix: bool) -> int | None:
    if not prefix:
        return _word_end(text, end)
    while end < len(text) and text[end].isalnum():
        end += 1
    return end


def _clause(text: str, start: int, end: int) -> tuple[str, str]:
    """The text of the clause before and after a span."""
    before = text[:start]
    cut = max((m.end() for m in _CLAUSE_END.finditer(before)), default=0)
    after = text[end:]
    stop = _CLAUSE_END.search(after)
    return before[cut:], after[: stop.start() if stop else len(after)]


def _denied(text: str, start: int, end: int) -> bool:
    before, after = _clause(text, start, end)
    # A phrase that is itself a negation ("no log", "never rotated") is not undone by an
    # earlier one in a list of absences: "no second approval and no log of what was signed".
    own_negation = _negated(_WORD.findall(text[start:end])[:1])
    if not own_negation and _negated(_WORD.findall(before)[-_WORDS_BEFORE:]):
        return True
    return any(w in _NEGATING_AFTER for w in _WORD.findall(after)[:_WORDS_AFTER])


def word_gates(cond: Any) -> tuple[tuple[str, frozenset[str]], ...]:
    """For each mentions_any in the condition's top-level conjunction, the fact and the
    words one of whose phrases must begin with: a text containing none of them fails that
    conjunct, so the whole condition. The engine checks these on a text's word set before
    evaluating the condition (most rules that read text hold for few elements)."""
    gates: list[tuple[str, frozenset[str]]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key == "all":
                    walk(value)
                elif key not in ("any", "not") and isinstance(value, dict) and "mentions_any" in value:
                    phrases = _phrases(value["mentions_any"], "")
                    if not phrases.unanchored:
                        gates.append((str(key), phrases.first_words))

    walk(cond)
    return tuple(gates)


def text_words(value: Any) -> frozenset[str]:
    """The words of a fact's value as mentions_any reads it (see word_gates)."""
    return _words(_text(value))


def mentions_in(cond: Any) -> list[tuple[str, Phrases]]:
    """Every (fact, phrases) a condition tests with mentions_any, outside a `not`: what a
    {stated} quote is looked for in. The condition is assumed compiled (valid)."""
    found: list[tuple[str, Phrases]] = []
    if isinstance(cond, list):
        for c in cond:
            found += mentions_in(c)
    elif isinstance(cond, dict):
        for key, value in cond.items():
            if key in ("all", "any"):
                found += mentions_in(value)
            elif key != "not" and isinstance(value, dict) and "mentions_any" in value:
                found.append((str(key), _phrases(value["mentions_any"], "")))
    return found


def mention_sentence(text: str, span: tuple[int, int], limit: int = 200) -> str:
    """The sentence of `text` around a mention, trimmed to about `limit` characters."""
    start, end = span
    left = max((m.end() for m in re.finditer(r"[.!?]\s|\n", text[:start])), default=0)
    tail = re.search(r"[.!?](\s|$)|\n", text[end:])
    right = end + (tail.start() + 1 if tail else len(text) - end)
    sentence = text[left:right].strip()
    if len(sentence) > limit:
        lo = max(left, start - limit // 2)
        sentence = ("..." if lo > left else "") + text[lo:lo + limit].strip() + "..."
    # The quote ends where the template's own punctuation goes on.
    return sentence.rstrip(" .;,:") if not sentence.endswith("...") else sentence
