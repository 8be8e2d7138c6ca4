"""Cheap language rules (no model): question language, anaphora, names, follow-up rewriting."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.language.terms import content_terms

WORD = re.compile(r"[\w][\w'’-]*", re.UNICODE)

_DUTCH = set("""de het een en van is dat die niet op te zijn voor met er wat wie waar wanneer waarom hoe welke
hoeveel heeft hebben had werd wordt zij ze hij we wij ik je jij u ook nog maar naar over bij om dit deze
kan kunnen zou zal moet was waren geen wel al dan uit aan of als door tot""".split())
_ENGLISH = set("""the a an and of is that this not on to be for with there what who where when why how which
many much has have had was were will would should can could does do did she he they we i you it its are
about from by at or if into after before than""".split())

# Words that point back to something said before. Strong ones count anywhere near the start of the
# sentence; weak ones ("dat", "die", "that") are too often conjunctions or relative pronouns elsewhere.
_STRONG_ANAPHORS = {"dit", "deze", "zij", "ze", "hij", "hem", "hun", "hen", "this", "these", "he", "she",
                    "they", "him", "them", "his", "their"}
_WEAK_ANAPHORS = {"dat", "die", "daarom", "daardoor", "hierdoor", "zijn", "haar", "dus", "that", "those", "it",
                  "her", "there", "then"}
_ANAPHOR_WINDOW = 5

# Question words that stand for a person mentioned earlier.
_PERSON_PRONOUNS = {"she", "he", "her", "him", "his", "zij", "ze", "hij", "haar", "hem", "zijn"}
_NAME_PARTICLES = {"de", "van", "der", "den", "ten", "ter", "te", "la", "le", "von"}

# Words that start a sentence before a name without being part of it: "In Amsterdam ...", "Bij Shell ...",
# "Volgens Rutte ..."; a particle ("Van der Wal") is part of it.
_BEFORE_NAMES = (_DUTCH | _ENGLISH | set("""in na tijdens sinds namens tegen zonder onder tussen volgens binnen buiten
during since under between against without within across also ook toen nu""".split())) - _NAME_PARTICLES

# Capitalised for grammar, not because they are names.
_NOT_NAMES = set("""monday tuesday wednesday thursday friday saturday sunday january february march april may
june july august september october november december i i'm i'd ok english dutch""".split())


def words(text: str) -> list[str]:
    return WORD.findall(text)


def language_of(text: str) -> str:
    """'nl' or 'en', by counting function words; English wins ties (the UI's language)."""
    tokens = [w.lower() for w in words(text)]
    dutch = sum(t in _DUTCH for t in tokens)
    english = sum(t in _ENGLISH for t in tokens)
    return "nl" if dutch > english else "en"


# A quote attributed to a pronoun: '"...", zei ze.' / '"...," she said.'
_QUOTE_BY_PRONOUN = re.compile(r"[\"”'’],?\s+(?:\w+\s+)?(?:ze|zij|hij|she|he|they)\b", re.IGNORECASE)


def leans_on_antecedent(sentence: str) -> bool:
    """True when the sentence needs an earlier one to be understood ("Voor de ChristenUnie is dit ...")."""
    tokens = [w.lower() for w in words(sentence)][:_ANAPHOR_WINDOW]
    if not tokens:
        return False
    return (tokens[0] in _WEAK_ANAPHORS or any(t in _STRONG_ANAPHORS for t in tokens)
            or bool(_QUOTE_BY_PRONOUN.search(sentence)))


def _strip_possessive(token: str) -> str:
    return re.sub(r"['’]s?$", "", token)


def names_in(text: str) -> list[str]:
    """Name-like tokens: capitalised words not at a sentence start, CamelCase, or with digits (D66, CDA)."""
    return [token for _, tokens in name_groups(text) for token in tokens]


# Lower-case words that may stand inside one name, followed by "the" or not: "World Wide Fund for Nature", "Bank
# of England", "Party for the Animals". Not the Dutch "van": "Wat vindt GroenLinks van PVV?" names two.
_NAME_JOINERS = {"for", "of"}


def name_groups(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """The names of the text as written, each with its name tokens: adjacent name tokens, with at most one
    joining word between two of them ("for", "of", also "for the"), are one name ("Geert Wilders", "World Wide
    Fund for Nature", "Party for the Animals")."""
    groups: list[tuple[str, tuple[str, ...]]] = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        run: list[tuple[str, bool]] = []
        for index, token in enumerate([*words(sentence), ""]):  # "" closes the last name
            token = _strip_possessive(token)
            if token and _is_name(token, index):
                run.append((token, True))
                continue
            if run and run[-1][1] and token.lower() in _NAME_JOINERS:
                run.append((token, False))
                continue
            if run and run[-1][0].lower() in _NAME_JOINERS and token.lower() == "the":
                run.append((token, False))  # "Party for the Animals"
                continue
            while run and not run[-1][1]:  # a joiner ends no name
                run.pop()
            if run:
                groups.append((" ".join(t for t, _ in run), tuple(t for t, name in run if name)))
            run = []
    return groups


def _is_name(token: str, index: int) -> bool:
    if len(token) < 2 or token.lower() in _NOT_NAMES or token.lower() in _DUTCH | _ENGLISH:
        return False  # function words are capitalised for grammar ("<b>What</b> ..."), never names
    inner_caps = (any(c.isupper() for c in token[1:]) and not token.isupper()) or token.isupper()
    has_digit = any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
    return has_digit or inner_caps or (index > 0 and token[0].isupper())


def missing_names(question: str, texts: Sequence[str]) -> list[str]:
    """Names in the question that none of the texts contains (as a word or the start of one)."""
    haystack = "\n".join(texts)
    missing = []
    for name in dict.fromkeys(names_in(question)):
        parts = [p for p in re.split(r"-", name) if len(p) >= 2] or [name]
        if not all(re.search(r"(?<!\w)" + re.escape(p), haystack, re.IGNORECASE) for p in parts):
            missing.append(name)
    return missing


_CAPITALISED = r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+"
_PERSON = re.compile(
    rf"(?<![\w-])(?P<name>{_CAPITALISED}(?:\s+(?:(?:{'|'.join(sorted(_NAME_PARTICLES))})\s+)*{_CAPITALISED})+)(?![\w-])"
)


_ARTICLES = {"De", "Het"}
# Capitalised adjectives of countries and places ("Amerikaanse", "Franse", "Belgische"): they end no name.
_ADJECTIVE = re.compile(r"[a-z](se|sche)$")


def _capitalised_words(parts: Sequence[str]) -> int:
    return sum(1 for p in parts if p.lower() not in _NAME_PARTICLES)


def person_names(text: str) -> list[str]:
    """Runs of two or more capitalised words, particles allowed inside: 'Hugo de Jonge', 'Sigrid Kaag'.

    A run starts no earlier than a sentence's second word when it has three or more words, so that
    'Vicepremier Carola Schouten' at a sentence start yields 'Carola Schouten'. Function words before a name
    are not part of it: 'In Amsterdam' is no person, 'Volgens Mark Rutte' yields 'Mark Rutte', and neither are an
    article and a noun that start the sentence ('De Belg Wout van Aert' yields 'Wout van Aert'). A particle
    joins a first name to a surname ('Wout van Aert'), but *van* after a full name starts what the person is
    of ('Minister Ruben Brekelmans van Defensie' yields 'Ruben Brekelmans').
    """
    people: list[str] = []
    for match in _PERSON.finditer(text):
        parts = match.group("name").split()
        leading = len(parts)
        while parts and (parts[0].lower() in _NOT_NAMES or parts[0].lower() in _BEFORE_NAMES):
            parts = parts[1:]
        while parts and parts[0] in _NAME_PARTICLES:  # "(Volgens) de Europese …": a lower-case particle starts no name
            parts = parts[1:]
        if parts and _ADJECTIVE.search(parts[-1]):
            continue  # "De Amerikaanse president Donald Trump": a run that ends in an adjective is no name
        at_start = not text[: match.start()].strip() or text[: match.start()].rstrip()[-1] in ".!?«\"'(:"
        if at_start and parts and parts[0] in _ARTICLES and _capitalised_words(parts[1:]) >= 3:
            parts = parts[2:]  # "De Belg Wout van Aert": an article and a noun before the name
        elif (at_start and _capitalised_words(parts) >= 3 and len(parts) == leading
              and parts[0].lower() not in _NAME_PARTICLES):
            parts = parts[1:]
        of = parts.index("van", 2) if "van" in parts[2:] else len(parts)
        if _capitalised_words(parts[:of]) >= 2:
            parts = parts[:of]  # "Ruben Brekelmans van Defensie": a name, then what the person is of
        if len(parts) >= 2 and not all(p.isupper() for p in parts):
            people.append(" ".join(parts))
    return people


# Words that point back to a thing, place or event of the conversation (and person pronouns, when no person
# fits). "het" is left out: it is mostly an article.
_POINTERS = _PERSON_PRONOUNS | {"it", "its", "that", "there", "they", "them", "their", "this", "these", "those",
                                "dat", "daar", "daarvan", "daarover", "daarbij", "die", "dit", "deze", "hun",
                                "ervan", "erover"}


def rewrite_follow_up(question: str, history: Sequence[dict] | None) -> str:
    """Resolve a follow-up against the conversation, without a model.

    A person pronoun becomes the most recent person named: "What did she say after the meeting?" after
    "Who is Carola Schouten?" becomes "What did Carola Schouten say after the meeting?". Another pointer
    (it, that, there, they, dat, daar…), a person pronoun when no person fits, or a question too short to stand
    alone carries the previous turn's topic over: the question the previous answer answered is added in
    brackets, so that retrieval looks where the conversation was ("When did it close? (Which exhibition broke
    the visitor record?)").

    ``history``: turns as :func:`bot.answering.history.normalise_history` gives them; an assistant turn with
    ``evidence`` is read from those sentences, one without from its text. Returns the question unchanged
    when there is no history or nothing points back.
    """
    if not history:
        return question
    tokens = words(question)
    tokens = [t for i, t in enumerate(tokens) if not _is_verb_zijn(tokens, i)]
    pronoun = next((t for t in tokens if t.lower() in _PERSON_PRONOUNS), None)
    person = _last_person(history) if pronoun is not None and not person_names(question) else None
    if person is not None:
        replacement = person + ("'s" if pronoun.lower() in {"his", "her"} and _is_possessive(tokens, pronoun) else "")
        return re.sub(r"\b" + re.escape(pronoun) + r"\b", replacement, question, count=1)
    if any(t.lower() in _POINTERS for t in tokens) or _elliptical(question, tokens):
        topic = _last_topic(history)
        if topic and topic.lower() not in question.lower():
            return f"{question} ({topic})"
    return question


_ASKS = re.compile(r"\?|^\s*(who|what|when|where|which|why|how|wie|wat|wanneer|waar|waarom|welke?|hoe|hoeveel|"
                   r"and|en)\b", re.IGNORECASE)


def _elliptical(question: str, tokens: list[str]) -> bool:
    """A question too short to stand alone: it ends on the pronoun "het" ("Wie zong het?"), or it has at most one
    content word and no name ("Who won?", "En wereldwijd?"). "Thanks!" asks nothing."""
    if not _ASKS.search(question):
        return False
    return (bool(tokens) and tokens[-1].lower() == "het") or (len(content_terms(question)) <= 1
                                                               and not names_in(question))


def _is_verb_zijn(tokens: list[str], index: int) -> bool:
    """Dutch "zijn" is "his" before a noun ("zijn mening") and the verb "to be" otherwise: at the end, before a
    function word ("Hoeveel zijn dat er?") or before a participle or infinitive ("zijn ontslagen")."""
    if tokens[index].lower() != "zijn":
        return False
    following = tokens[index + 1].lower() if index + 1 < len(tokens) else ""
    return not following or following in _DUTCH or following.startswith("ge") or following.endswith("en")


def _last_person(history: Sequence[dict]) -> str | None:
    for turn in reversed(history):
        content = turn.get("content") if isinstance(turn, dict) else None
        if not isinstance(content, str):
            continue
        if turn.get("role") != "assistant":
            candidates = person_names(content)
        elif turn.get("evidence") is not None:  # a structured answer: the sentences it rests on
            candidates = person_names(" ".join(turn["evidence"]))
        else:  # an answer's plain text (API users): its quotes when it has any
            candidates = person_names(_quoted_or_all(content))
        if candidates:
            return candidates[0] if turn.get("role") == "assistant" else candidates[-1]
    return None


def _last_topic(history: Sequence[dict]) -> str | None:
    """The question the conversation was last about: as the previous answer understood it, else as asked."""
    for turn in reversed(history):
        if not isinstance(turn, dict):
            continue
        if turn.get("role") == "assistant" and turn.get("question"):
            return without_topic(str(turn["question"]))
        if turn.get("role") == "user" and isinstance(turn.get("content"), str):
            return without_topic(turn["content"])
    return None


def without_topic(question: str) -> str:
    """A question without a topic carried over before it: topics do not pile up over many turns."""
    return re.sub(r"\s*\([^()]*\)$", "", question).strip()


def _quoted_or_all(answer_text: str) -> str:
    quotes = re.findall(r"«([^»]*)»", answer_text)
    return " ".join(quotes) if quotes else answer_text


def _is_possessive(tokens: list[str], pronoun: str) -> bool:
    # "her" is possessive when a noun follows ("her position"), an object at the end ("about her").
    index = tokens.index(pronoun)
    return pronoun.lower() == "his" or (index + 1 < len(tokens) and tokens[index + 1].lower() not in _ENGLISH)


# "…, and where …?", "… en hoeveel …?": a second question joined to the first by "and"/"en" and a question word.
_SECOND_QUESTION = re.compile(
    r",?\s+(?:and|en)\s+(?=(?:who|whom|what|when|where|which|why|how|wie|wat|wanneer|waar|waarom|welke|welk|hoe|"
    r"hoeveel|(?:on|in|at|from|for|to|by|since|until|op|om|uit|voor|van|tot|sinds|naar|bij|met) "
    r"(?:which|what|whom|when|welke|welk|wie|wat|hoeveel|wanneer))\b)",
    re.IGNORECASE)


def question_parts(question: str) -> list[str]:
    """A question that asks two things ("Who won the contest, and in which city was it held?") as its two
    questions. The second carries the first in brackets, as a follow-up carries its topic ("In which city was
    it held? (Who won the contest?)"), unless it says on its own what it is about: a name, or three content
    words. [] for a question that asks one thing."""
    pieces = _SECOND_QUESTION.split(question.strip(), maxsplit=1)
    if len(pieces) != 2 or not all(content_terms(p) or names_in(p) for p in pieces):
        return []
    first = pieces[0].rstrip(" ,;?") + "?"
    second = pieces[1][:1].upper() + pieces[1][1:].rstrip()
    stands_alone = bool(names_in(second)) or len(content_terms(second)) >= 3
    return [first, second if stands_alone else f"{second} ({first})"]

