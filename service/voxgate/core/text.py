"""Text for speaking: normalisation (numbers, dates, times, money, units, abbreviations) and
clause splitting, whole or incrementally as text arrives piece by piece.

English only: the reference engine's voice is English. Numbers are spelled out by num2words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from num2words import num2words as _num2words

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]

_ABBREVIATIONS = {
    "Dr.": "Doctor",
    "Mr.": "Mister",
    "Mrs.": "Missus",
    "Ms.": "Miz",
    "Prof.": "Professor",
    "St.": "Saint",
    "Jr.": "Junior",
    "Sr.": "Senior",
    "vs.": "versus",
    "etc.": "et cetera",
    "e.g.": "for example",
    "i.e.": "that is",
    "approx.": "approximately",
    "No.": "number",
    "Inc.": "Incorporated",
    "Ltd.": "Limited",
}

# Unit symbol after a number -> (singular, plural).
_UNITS = {
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "mph": ("mile per hour", "miles per hour"),
    "km": ("kilometer", "kilometers"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "m": ("meter", "meters"),
    "kg": ("kilogram", "kilograms"),
    "mg": ("milligram", "milligrams"),
    "g": ("gram", "grams"),
    "ml": ("milliliter", "milliliters"),
    "l": ("liter", "liters"),
    "kHz": ("kilohertz", "kilohertz"),
    "Hz": ("hertz", "hertz"),
    "GB": ("gigabyte", "gigabytes"),
    "MB": ("megabyte", "megabytes"),
    "ms": ("millisecond", "milliseconds"),
    "s": ("second", "seconds"),
    "min": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "°C": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "%": ("percent", "percent"),
}
_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents")}
_CURRENCIES["£"] = ("pound", "pounds", "penny", "pence")

_NUMBER = r"\d+(?:,\d{3})*(?:\.\d+)?"
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_TIME = re.compile(r"\b(\d{1,2}):(\d{2})(?:\s*(am|pm|AM|PM)\b)?")
_MONEY = re.compile(r"([$€£])\s?(\d+(?:,\d{3})*)(?:\.(\d{2}))?\b")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_UNIT = re.compile(
    rf"(?<![\w.])(-?{_NUMBER})\s?("
    + "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
    + r")(?![\w/])"
)
_YEAR = re.compile(r"(?<![\d,.])(1[1-9]\d\d|20\d\d)(?![\d,]|\.\d|\s?%)")
_PLAIN = re.compile(rf"(?<![\w.])(-?{_NUMBER})(?!\w)")
_SPACE = re.compile(r"\s+")

# A clause ends at . ! ? … ; : or a dash, followed by whitespace; commas end one only when
# enough words came before (short first clauses give fast first audio, tiny ones sound choppy).
_SENTENCE_END = re.compile(r"[.!?…;:]+[\"')\]]*(?=\s)|\s[—–-]\s")
_COMMA = re.compile(r",(?=\s)")
MIN_WORDS_AT_COMMA = 4


def num2words(value: float, **kwargs: str) -> str:
    # No commas inside a number ("one million, two hundred..."): they would cut clauses.
    return _num2words(value, **kwargs).replace(",", "")


def _words(value: str) -> str:
    text = value.replace(",", "")
    number = float(text) if "." in text else int(text)
    return num2words(number)


def _unit(match: re.Match) -> str:
    value, unit = match.group(1), match.group(2)
    singular, plural = _UNITS[unit]
    return f"{_words(value)} {singular if value in ('1', '-1') else plural}"


def _money(match: re.Match) -> str:
    one, many, cent, cents = _CURRENCIES[match.group(1)]
    whole = int(match.group(2).replace(",", ""))
    out = f"{num2words(whole)} {one if whole == 1 else many}"
    if match.group(3) and int(match.group(3)):
        c = int(match.group(3))
        out += f" {num2words(c)} {cent if c == 1 else cents}"
    return out


def _date(match: re.Match) -> str:
    year, month, day = (int(g) for g in match.groups())
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return match.group(0)
    return f"{_MONTHS[month - 1]} {num2words(day, to='ordinal')}, {num2words(year, to='year')}"


def _time(match: re.Match) -> str:
    hour, minute, half = int(match.group(1)), int(match.group(2)), match.group(3)
    if hour > 23 or minute > 59:
        return match.group(0)
    spoken = num2words(hour)
    if minute:
        spoken += " oh " + num2words(minute) if minute < 10 else " " + num2words(minute)
    elif not half:
        spoken += " o'clock"
    return spoken + (f" {half[0].lower()} m" if half else "")


def normalize(text: str) -> str:
    """Spells out what a voice would otherwise read wrongly or not at all."""
    text = _SPACE.sub(" ", text).strip()
    for short, long in _ABBREVIATIONS.items():
        text = re.sub(rf"(?<!\w){re.escape(short)}", long, text)
    text = _ISO_DATE.sub(_date, text)
    text = _TIME.sub(_time, text)
    text = _MONEY.sub(_money, text)
    text = _ORDINAL.sub(lambda m: num2words(int(m.group(1)), to="ordinal"), text)
    text = _UNIT.sub(_unit, text)
    text = _YEAR.sub(lambda m: num2words(int(m.group(1)), to="year"), text)
    text = _PLAIN.sub(lambda m: _words(m.group(1)), text)
    text = text.replace("&", " and ")
    return _SPACE.sub(" ", text).strip()


def _abbreviation_before(text: str, end: re.Match) -> bool:
    """Whether a period closes an abbreviation ("Dr.", "e.g.") rather than a sentence."""
    if not end.group(0).startswith("."):
        return False
    word = text[: end.start() + 1].rsplit(None, 1)[-1]
    return word in _ABBREVIATIONS


def _cut_points(text: str) -> list[int]:
    """Offsets just after each clause end in `text` (only ends followed by whitespace)."""
    cuts = [m.end() for m in _SENTENCE_END.finditer(text) if not _abbreviation_before(text, m)]
    last = 0
    points = []
    for comma in (m.end() for m in _COMMA.finditer(text)):
        cuts.append(comma)
    for cut in sorted(set(cuts)):
        piece = text[last:cut]
        ends_sentence = bool(_SENTENCE_END.search(piece[-3:] + " "))
        if ends_sentence or len(piece.split()) >= MIN_WORDS_AT_COMMA:
            points.append(cut)
            last = cut
    return points


def split_clauses(text: str) -> list[str]:
    """Clauses of a whole text, in order, none empty."""
    out, last = [], 0
    for cut in _cut_points(text):
        out.append(text[last:cut])
        last = cut
    out.append(text[last:])
    return [c.strip() for c in out if c.strip()]


@dataclass
class ClauseBuffer:
    """Text arriving piece by piece (an LLM's output) -> clauses as soon as they are complete.

    A clause is complete when its end mark is followed by whitespace, so "3." then "5" is not
    cut. `flush()` returns whatever is pending, complete or not.
    """

    max_chars: int
    pending: str = ""
    total_chars: int = field(default=0)

    def push(self, piece: str) -> list[str]:
        self.pending += piece
        self.total_chars += len(piece)
        points = _cut_points(self.pending)
        if not points:
            return []
        done, self.pending = self.pending[: points[-1]], self.pending[points[-1] :]
        return split_clauses(done)

    def flush(self) -> list[str]:
        done, self.pending = self.pending, ""
        return split_clauses(done)

    def head(self, max_words: int = 4) -> list[str]:
        """The head `fast_start` would cut off the clause now pending, as soon as it is sure.

        Once `max_words` + 3 complete words of a clause have arrived, `fast_start` will split
        it, and where depends only on its first `max_words` words: speak them now.
        """
        words = self.pending.split()
        if words and not self.pending[-1:].isspace():
            words = words[:-1]  # the last word may still be arriving
        if len(words) < max_words + 3:
            return []
        head = fast_start([" ".join(words)], max_words)[0]
        cut = len(head.split())
        rest = self.pending.split(None, cut)
        self.pending = rest[cut] if len(rest) > cut else ""
        return [head]


def fast_start(clauses: list[str], max_words: int = 4) -> list[str]:
    """Cuts a short head off the first clause so the first audio comes sooner.

    Applied to the text as written (before `normalize`), so that a stream of text pieces can
    make the same cut as soon as the first words have arrived (`ClauseBuffer.head`).

    The engine's time to first audio grows with the first clause's length; a head of a few
    words (cut at a comma when there is one early enough) halves it or better. Clauses of at
    most `max_words` + 2 words are left whole.
    """
    if not clauses:
        return clauses
    words = clauses[0].split()
    if len(words) <= max_words + 2:
        return clauses
    cut = max_words
    for i in range(max_words, 1, -1):
        if words[i - 1].endswith(","):
            cut = i
            break
    return [" ".join(words[:cut]), " ".join(words[cut:]), *clauses[1:]]


def speakable_clauses(text: str) -> list[str]:
    """A whole text -> the normalised clauses to speak, the first one cut short.

    Split as written, then each clause normalised: the same clauses a stream of the same
    text gives (`ClauseBuffer` + `normalize`), however it is cut into pieces.
    """
    clauses = (normalize(c) for c in fast_start(split_clauses(text)))
    return [c for c in clauses if c]
