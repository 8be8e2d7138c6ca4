"""Numbers and dates stated in a text: numbers as values, in digits or in English or Dutch words
("tweehonderd" = 200), month and weekday names as one name for both languages ("June" = "juni").

Used by the grounding check: an English "two hundred" is supported by a Dutch "tweehonderd".
"een"/"one" are left out: they are articles and pronouns far more often than numbers.
"""

from __future__ import annotations

import re

_EN_UNITS = {  # "ten" is left out: Dutch "ten minste", "ten slotte"
    word: value for value, word in enumerate("_ _ two three four five six seven eight nine _ eleven twelve "
                                              "thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split())
    if word != "_"
}
_NL_UNITS = dict(zip(
    "twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien vijftien zestien zeventien "
    "achttien negentien".split(), range(2, 20)))
_EN_TENS = dict(zip("twenty thirty forty fifty sixty seventy eighty ninety".split(), range(20, 100, 10)))
_NL_TENS = dict(zip("twintig dertig veertig vijftig zestig zeventig tachtig negentig".split(), range(20, 100, 10)))
_UNITS = {**_EN_UNITS, **_NL_UNITS}
_TENS = {**_EN_TENS, **_NL_TENS}
_SCALES = {"hundred": 100, "honderd": 100, "thousand": 1000, "duizend": 1000, "million": 10**6, "miljoen": 10**6}
_DIGITS = re.compile(r"(?<![\w.,])\d+(?:[.,]\d{3})*(?:,\d+|\.\d+)?(?![\w])")
_WORD = re.compile(r"[a-zA-Zéëï-]+")


def _dutch_compound(word: str) -> int | None:
    """Dutch writes numbers as one word: tweehonderd, eenentwintig, drieëntwintig, tweeduizend."""
    for scale_word, scale in (("duizend", 1000), ("honderd", 100)):
        head, found, tail = word.partition(scale_word)
        if found:
            multiplier = _dutch_compound(head) if head else 1
            rest = _dutch_compound(tail) if tail else 0
            return None if multiplier is None or rest is None else multiplier * scale + rest
    units = {**_NL_UNITS, "een": 1, "één": 1}
    if word in units or word in _NL_TENS:
        return units.get(word) or _NL_TENS[word]
    for tens_word, tens in _NL_TENS.items():
        head = word.removesuffix(tens_word)
        if head != word:
            for joint in ("ën", "en"):
                if head.endswith(joint) and head[: -len(joint)] in units:
                    return units[head[: -len(joint)]] + tens
    return None


def _digits_value(text: str) -> float:
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", text):  # Dutch thousands: 6.500
        return float(text.replace(".", ""))
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", text):  # English thousands: 6,500
        return float(text.replace(",", ""))
    return float(text.replace(",", "."))


# Race times ("1.14,26" = "1:14.26") and clock times ("18.00" = "18:00" = "6 pm"), each as one value.
_RACE_TIME = re.compile(r"(?<![\w.,:])(\d{1,2})[.:](\d{2})[,.](\d{1,3})(?![\w]|[.,]\d)")
_CLOCK_TIME = re.compile(r"(?<![\w.,:])(\d{1,2})(?:[.:](\d{2}))?\s*([ap])\.?m\b\.?"
                         r"|(?<![\w.,:])(\d{1,2})[.:](\d{2})(?![\w]|[.,]\d)", re.I)


def _times(text: str) -> tuple[set[float], str]:
    """Race and clock times in the text as values, and the text without them."""
    values: set[float] = set()

    def race(m: re.Match) -> str:
        values.add(round(int(m.group(1)) * 60 + int(m.group(2)) + int(m.group(3)) / 10 ** len(m.group(3)), 3))
        return " "

    def clock(m: re.Match) -> str:
        if m.group(3):  # 6 pm, 6.30 a.m.
            hour = int(m.group(1)) % 12 + (12 if m.group(3).lower() == "p" else 0)
            values.add(hour + int(m.group(2) or 0) / 100)
        else:
            values.add(int(m.group(4)) + int(m.group(5)) / 100)
        return " "

    return values, _CLOCK_TIME.sub(clock, _RACE_TIME.sub(race, text))


def numbers_in(text: str) -> set[float]:
    times, text = _times(text)
    values = times | {_digits_value(m.group()) for m in _DIGITS.finditer(text)}
    current: float | None = None  # an English number spelled over several words: "two hundred and fifty"
    for token in (w.lower().strip("-") for w in _WORD.findall(text)):
        if token in _UNITS or token in _TENS:
            current = (current or 0) + (_UNITS.get(token) or _TENS[token])
        elif token in _SCALES and (current is not None or token in {"hundred", "honderd", "duizend", "thousand"}):
            current = (current or 1) * _SCALES[token]
        elif token == "and" and current is not None:
            continue
        else:
            if current is not None:
                values.add(float(current))
            current = None
            compound = _dutch_compound(token) if len(token) > 4 else None
            if compound is not None and compound > 1:
                values.add(float(compound))
    if current is not None:
        values.add(float(current))
    return values


_MONTHS = ("january february march april may june july august september october november december".split(),
           "januari februari maart april mei juni juli augustus september oktober november december".split())
_DAYS = ("monday tuesday wednesday thursday friday saturday sunday".split(),
         "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag".split())
_DATE_NAMES = {word: f"month-{i + 1}" for names in _MONTHS for i, word in enumerate(names)}
_DATE_NAMES.update({word: f"day-{i + 1}" for names in _DAYS for i, word in enumerate(names)})
_DATE_WORDS = {"may"}  # also a verb: only a date when a day number stands beside it


def dates_in(text: str) -> set[str]:
    """Month and weekday names in the text, the same for English and Dutch ("June" and "juni": month-6)."""
    found = set()
    tokens = _WORD.findall(text)
    for i, token in enumerate(tokens):
        word = token.lower()
        if word in _DATE_WORDS and not (token[0].isupper() and i > 0):
            continue
        if word in _DATE_NAMES:
            found.add(_DATE_NAMES[word])
    return found
