"""Question terms that survive translation and accents: folding, content terms, exonyms, question types.

No model here: these are the cheap lexical signals. The cross-lingual part that a table cannot cover
(``gold`` for ``goud``, ``medals`` for ``medailles``) is the embedding model's: a question's terms are
embedded in the same batch as the question and compared with the candidate sentences (bot/answering/features.py).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_WORD = re.compile(r"\w[\w'’-]*", re.UNICODE)

# Function words and question words of both languages: never content terms.
STOPWORDS = frozenset("""
de het een en van is dat die niet op te zijn voor met er wat wie waar wanneer waarom hoe welke welk hoeveel heeft
hebben had werd wordt worden zij ze hij we wij ik je jij u ook nog maar naar over bij om dit deze kan kunnen zou
zal zullen moet moeten was waren geen wel al dan uit aan of als door tot hun haar hem zich men mag mogen gaat gaan
ging doet doen deed wil willen waarover waarvoor waardoor welke hier daar daarna toen nu meer veel elk iets
the a an and of is that this not on to be for with there what who whom whose where when why how which many much
has have had was were will would should can could does do did she he they we i you it its are about from by at
or if into after before than their them his her him our your been being also any some so such as did done say
says said tell told according article kind sort exactly really again still then there those these one
in each every per elk elke ieder iedere volgens
""".split())

# English (and a few international) names of Dutch-written entities, folded. A starting point that the
# embedding comparison extends; never the only evidence (see the module docstring).
EXONYMS: dict[str, tuple[str, ...]] = {
    "netherlands": ("nederland",), "holland": ("nederland", "holland"), "dutch": ("nederland",),
    "hague": ("den haag", "haagse"), "house": ("kamer",), "parliament": ("kamer", "parlement"),
    "representatives": ("kamer",), "senate": ("eerste kamer", "senaat"), "labour": ("pvda",),
    "christian": ("christen", "christelijk"), "union": ("unie",), "germany": ("duitsland",), "german": ("duits",),
    "germans": ("duits",), "belgium": ("belgie", "belgisch"), "belgian": ("belgi",), "france": ("frankrijk",),
    "french": ("frans",), "america": ("amerika", "verenigde staten"), "american": ("amerika",),
    "americans": ("amerika",), "states": ("staten",), "united": ("verenigde",), "europe": ("europa", "europe"),
    "european": ("europe",), "eu": ("eu", "europese unie"), "norway": ("noorwegen",), "norwegian": ("noor",),
    "sweden": ("zweden",), "swedish": ("zwe",), "swede": ("zwe",), "britain": ("brittannie",), "british": ("brit",),
    "england": ("engeland",), "supreme": ("hoge raad",), "court": ("rechtbank", "hof", "rechter"),
    "judge": ("rechter",), "council": ("raad",), "state": ("staat", "state"), "city": ("gemeente", "stad"),
    "municipality": ("gemeente",), "mayor": ("burgemeester",), "alderman": ("wethouder",),
    "minister": ("minister",), "cabinet": ("kabinet",), "government": ("kabinet", "regering", "overheid"),
    "police": ("politie",), "north": ("noord",), "south": ("zuid",), "east": ("oost",), "west": ("west",),
    "israel": ("israel",), "world": ("wereld",), "health": ("gezondheid",), "organization": ("organisatie",),
    "central": ("centraal", "centrale"), "bank": ("bank",), "statistics": ("cbs",), "museum": ("museum",),
    # International organisations and public bodies by their usual English names.
    "nato": ("navo",), "un": ("vn", "verenigde naties"), "nations": ("naties",), "gdp": ("bbp", "bruto binnenlands"),
    "prosecution": ("openbaar ministerie",), "prosecutor": ("officier van justitie", "openbaar ministerie"),
    "prosecutors": ("officier van justitie", "openbaar ministerie"), "customs": ("douane",),
    "ministry": ("ministerie",), "defence": ("defensie",), "defense": ("defensie",), "justice": ("justitie",),
    "finance": ("financien",), "education": ("onderwijs",), "appeal": ("hoger beroep", "beroep"),
    "commission": ("commissie",), "committee": ("commissie",), "mp": ("kamerlid", "kamer"),
    "mps": ("kamerleden", "kamerlid", "kamer"),
    "king": ("koning",), "queen": ("koningin",), "palace": ("paleis",), "royal": ("koninklijk", "konings"),
    "province": ("provincie",), "greenleft": ("groenlinks",), "greenleft-labour": ("groenlinks-pvda",),
    "olympics": ("olympische", "spelen"),
    # Countries, their people and places, as the English name them.
    "spain": ("spanje",), "spanish": ("spaans", "spanje"), "switzerland": ("zwitserland",),
    "swiss": ("zwitser",), "turkey": ("turkije",), "turkish": ("turks", "turkije"), "denmark": ("denemarken",),
    "danish": ("deens",), "dane": ("deen",), "italy": ("italie",), "italian": ("italiaan", "italie"),
    "poland": ("polen",), "polish": ("pools", "polen"), "ukraine": ("oekraine",), "ukrainian": ("oekraine",),
    "croatia": ("kroatie",), "russia": ("rusland",), "russian": ("russisch", "rusland"),
    "austria": ("oostenrijk",), "greece": ("griekenland",), "ireland": ("ierland",), "scotland": ("schotland",),
    "scottish": ("schots", "schotland"), "slovenia": ("slovenie",), "slovenian": ("sloveen", "slovenie"),
    "morocco": ("marokko",), "moroccan": ("marokkaan", "marokko"), "canadian": ("canada",),
    "brussels": ("brussel",), "antwerp": ("antwerpen",), "flanders": ("vlaanderen",), "guelders": ("gelderland",),
    "frisian": ("fries",), "zealand": ("zeeland",),
    # Names of several words, matched as one term (content_terms): no word of "Party for Freedom" is in "PVV".
    # Dutch parties, public bodies and places, and common international ones, by their usual English names.
    "party for freedom": ("pvv", "partij voor de vrijheid"),
    "people party for freedom and democracy": ("vvd",), "people party": ("vvd",),
    "christian democratic appeal": ("cda",), "christian democrats": ("cda",), "democrats 66": ("d66",),
    "christian union": ("christenunie",), "labour party": ("pvda",), "green left": ("groenlinks",),
    "socialist party": ("sp", "socialistische partij"),
    "party for the animals": ("partij voor de dieren", "pvdd"),
    "farmer-citizen movement": ("bbb", "boerburgerbeweging"), "farmers party": ("bbb",),
    "new social contract": ("nsc", "nieuw sociaal contract"), "reformed political party": ("sgp",),
    "forum for democracy": ("fvd", "forum voor democratie"),
    "house of representatives": ("tweede kamer",), "lower house": ("tweede kamer",),
    "upper house": ("eerste kamer",), "states general": ("staten-generaal",), "council of state": ("raad van state",),
    "court of audit": ("rekenkamer",), "supreme court": ("hoge raad",), "court of appeal": ("gerechtshof", "hof"),
    "appeals court": ("gerechtshof", "hof"), "district court": ("rechtbank",),
    "public prosecution service": ("openbaar ministerie", "om"), "public prosecutor": ("officier van justitie", "om"),
    "prosecution service": ("openbaar ministerie", "om"), "tax authority": ("belastingdienst",),
    "tax authorities": ("belastingdienst",), "statistics netherlands": ("cbs", "centraal bureau voor de statistiek"),
    "central bank": ("centrale bank", "dnb", "nederlandsche bank"), "dutch central bank": ("dnb", "nederlandsche bank"),
    "data protection authority": ("autoriteit persoonsgegevens", "ap"),
    "authority for consumers and markets": ("acm",), "financial markets authority": ("afm",),
    "meteorological institute": ("knmi",), "weather service": ("knmi", "weerdienst"),
    "national institute for public health": ("rivm",), "public health institute": ("rivm",),
    "immigration and naturalisation service": ("ind",), "immigration service": ("ind",),
    "royal military police": ("marechaussee",), "military police": ("marechaussee",),
    "national police": ("politie", "nationale politie"), "safety board": ("onderzoeksraad",),
    "food safety authority": ("nvwa",), "employee insurance agency": ("uwv",), "social and economic council": ("ser",),
    "dutch railways": ("ns",), "prime minister": ("premier", "minister-president"),
    "deputy prime minister": ("vicepremier",), "state secretary": ("staatssecretaris",),
    "foreign affairs": ("buitenlandse zaken",), "foreign minister": ("minister van buitenlandse zaken",),
    "home affairs": ("binnenlandse zaken",), "economic affairs": ("economische zaken",),
    "social affairs": ("sociale zaken",), "infrastructure and water management": ("infrastructuur en waterstaat",),
    "public health": ("volksgezondheid",),
    "the hague": ("den haag",), "north holland": ("noord-holland",), "south holland": ("zuid-holland",),
    "north brabant": ("noord-brabant", "brabant"), "united states": ("verenigde staten", "vs", "amerika"),
    "united kingdom": ("verenigd koninkrijk", "brittannie", "brit"),
    "great britain": ("groot-brittannie", "brittannie", "brit"), "european union": ("europese unie", "eu"),
    "european commission": ("europese commissie",), "european parliament": ("europees parlement",),
    "united nations": ("verenigde naties", "vn"), "world health organization": ("who", "wereldgezondheidsorganisatie"),
    "international criminal court": ("internationaal strafhof",), "red cross": ("rode kruis",),
    "south africa": ("zuid-afrika",), "new zealand": ("nieuw-zeeland",), "north korea": ("noord-korea",),
    "south korea": ("zuid-korea",), "saudi arabia": ("saoedi-arabie",), "czech republic": ("tsjechie",),
    "world cup": ("wereldbeker", "wk"), "world championships": ("wk", "wereldkampioenschap"),
    "world championship": ("wk", "wereldkampioenschap"), "european championship": ("ek", "europees kampioenschap"),
    "olympic games": ("olympische spelen", "spelen"),
}

QUESTION_TYPES = ("age", "money", "clock", "number", "time", "person", "reason", "place", "other")

# Most specific first: "how old" wants an age, not any number; "what did it cost" an amount of money. A question
# that asks for a date or a reason, a share or a count, is that whatever else it names ("On which day was the
# fine announced?", "Why did they spend more?", "What share of their GDP do they spend?").
_TYPE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("age", re.compile(r"\b(how old|what age|at what age|hoe oud|welke leeftijd|op welke leeftijd)\b")),
    ("clock", re.compile(r"\b(what time|at what time|which time|hoe laat|om hoeveel uur|hoe vroeg)\b")),
    ("time", re.compile(r"\b(what (date|day|year|month)|which (date|day|year|month)|op welke (dag|datum)|"
                        r"welke (dag|datum)|in welk jaar)\b")),
    ("reason", re.compile(r"^(why|waarom)\b")),
    ("number", re.compile(r"\b(how many|what (share|percentage|proportion|part)|which (share|percentage)|"
                          r"how much of|hoeveel procent|welk (deel|aandeel|percentage)|hoeveel (mensen|keer))\b")),
    ("money", re.compile(r"\b(cost|costs|costing|price|prices|paid|pay|spend|spent|spends|how much money|"
                         r"prize money|salary|fee|kost|kosten|kostte|kostten|gekost|prijs|betaald|betaalt|betalen|"
                         r"uitgegeven|bedrag|hoeveel geld|salaris|boete)\b")),
    ("number", re.compile(r"\b(how (many|much|old|long|far|high|big|large|often|fast)|what (age|percentage|"
                          r"share|amount|number|price|cost|score|time did|winning time)|hoeveel|hoe (oud|lang|ver|"
                          r"hoog|groot|vaak|snel)|welk (percentage|bedrag|aantal)|wat (kost|kostte)|how old)\b")),
    # "When" asks a time where it starts a question or a part of one, not inside a clause ("How did they react
    # when Heinen scrapped the link?").
    ("time", re.compile(r"(^|\b(since|from|until|till|and|or|sinds|vanaf|tot|en|of) |, )(when|wanneer)\b|"
                        r"\b(what (date|day|year|month|time)|which (date|day|year|month)|"
                        r"op welke (dag|datum)|welke (dag|datum)|in welk jaar|hoe laat|what time)\b")),
    ("reason", re.compile(r"\b(why|what (reason|caused|was the reason)|how come|waarom|om welke reden|"
                          r"wat (was|is) de (reden|aanleiding|oorzaak)|waardoor)\b")),
    ("person", re.compile(r"^(who|whom|wie)\b|\b(who|wie) (is|was|are|were|won|leads|said|zei|heeft|werd)\b"
                          r"|\b(what is|what was|what's) (the|his|her|their) name\b|\bname of the\b|\bhoe heet\b"
                          r"|\bwat is de naam\b|\bde naam van\b"
                          r"|\bwhich (minister|politician|person|judge|mayor|athlete|skater|director|party|"
                          r"american|dutchman|player|team|company|organi[sz]ation)\b"
                          r"|\bwelke (minister|politicus|partij|rechter|"
                          r"burgemeester|schaatser|directeur)\b")),
    ("place", re.compile(r"\b(where|waar|in which (city|town|country|region|province|place)|in welke "
                         r"(stad|plaats|provincie|regio|land|gemeente))\b")),
    # A question that names a quantity wants a number, however it is phrased ("What was the inflation rate?").
    ("number", re.compile(r"\b(rate|percentage|percent|proportion|amount|number of|score|grade|temperature|"
                          r"speed|cijfer|rapportcijfer|procent|aantal|bedrag|temperatuur|snelheid)\b")),
]

_NUMBER_WORDS = ("een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen", "tien", "elf", "twaalf",
                 "twintig", "dertig", "veertig", "vijftig", "zestig", "zeventig", "tachtig", "negentig", "honderd",
                 "duizend", "miljoen", "miljard", "procent", "helft", "kwart", "dubbel", "tiental", "dozijn")
_NUMBER = re.compile(r"\d|\b(" + "|".join(_NUMBER_WORDS[1:]) + r")")
_TIME = re.compile(
    r"\b(maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag|gisteren|vandaag|morgen|vanavond|vannacht|"
    r"vanmorgen|vanochtend|eergisteren|overmorgen|januari|februari|maart|april|mei|juni|juli|augustus|september|"
    r"oktober|november|december|voorjaar|najaar|zomer|winter|herfst|lente|week|weken|maand|maanden|jaar|jaren|"
    r"eeuw|uur|dag|dagen|avond|ochtend|middag|nacht|binnenkort|straks|later|eerder|toen|sinds|vanaf|tot)\b|"
    r"\b(1[5-9]|20)\d\d\b|\b\d{1,2}[:.]\d\d\b")
_REASON = re.compile(r"\b(omdat|vanwege|doordat|want|daardoor|daarom|aanleiding|reden|oorzaak|door|zodat|dankzij|"
                     r"wegens|om .{1,60} te|moest|vanuit|gevolg|leidde|leidt|veroorzaakt|waardoor|dus|in ruil voor|"
                     r"zorgde|zorgt)\b")
# A name (of a person, a party, a team, a country: "Who knocked out Switzerland?" is answered by "Engeland"), or a
# role; a capital that starts the sentence is no name.
_PERSON = re.compile(r"(?<!^)(?<![.!?] )(?<![.!?][\"”] )\b[A-Z][\w-]*[a-zà-ÿA-Z]|"
                     r"\b(minister|premier|burgemeester|wethouder|rechter|directeur|voorzitter|leider|woordvoerder|"
                     r"president|hoogleraar|onderzoeker|coach|schaatser|trainer)\b")
_PLACE = re.compile(r"\b([Ii]n|[Nn]aar|[Uu]it|[Bb]ij|[Rr]ond|[Oo]p) (het |de )?[A-Z][\w-]+")


def fold(text: str) -> str:
    """Lower case without diacritics: 'Israël' and 'israel' fold alike."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(text: str) -> list[str]:
    return _WORD.findall(text)


@lru_cache(maxsize=4096)
def folded_words(text: str) -> tuple[str, ...]:
    return tuple(re.sub(r"['’]s?$", "", w) for w in words(fold(text)))


# The names of several words in EXONYMS, as word tuples, longest first.
_PHRASES = sorted((tuple(key.split()) for key in EXONYMS if " " in key), key=len, reverse=True)


@lru_cache(maxsize=4096)
def phrased_words(text: str) -> tuple[str, ...]:
    """The folded words, with each name of several words that EXONYMS knows as one ("party for freedom")."""
    tokens, merged, at = folded_words(text), [], 0
    while at < len(tokens):
        phrase = next((p for p in _PHRASES if tokens[at:at + len(p)] == p), None)
        merged.append(" ".join(phrase) if phrase else tokens[at])
        at += len(phrase) if phrase else 1
    return tuple(merged)


def content_terms(question: str, limit: int = 6) -> list[str]:
    """The question's content words, folded, in order, without function words: what evidence must cover."""
    terms = [w for w in phrased_words(question) if w not in STOPWORDS and len(w) >= 2 and not w.isdigit()]
    return list(dict.fromkeys(terms))[:limit]


def _stem(term: str) -> str:
    return term if len(term) <= 4 else term[: max(4, len(term) - 2)]


def _form_in(form: str, folded: str) -> bool:
    if len(form) <= 2:  # an acronym ("om", "ap", "vs") is a word of its own, or starts a compound ("OM-zaak")
        return f" {form} " in folded or f" {form}-" in folded
    return f" {_stem(form)}" in folded or (len(form) >= 4 and form in folded)


def term_in(term: str, text: str) -> bool:
    """The folded term, a Dutch form of it, or its stem starts a word of the text ('debate' ~ 'debat'); a
    compound when each of its parts is there ('greenleft-labour' ~ 'GroenLinks-PvdA')."""
    folded = " " + " ".join(folded_words(text)) + " "
    if f" {_stem(term)}" in folded or (len(term) >= 6 and term in folded):  # 'asiel' in 'asielmaatregelen'
        return True
    if any(_form_in(form, folded) for form in EXONYMS.get(term, ())):
        return True
    parts = [part for part in term.split("-") if len(part) >= 2]
    return len(parts) > 1 and all(term_in(part, text.replace("-", " ")) for part in parts)


@lru_cache(maxsize=256)
def _asked(question: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """The question's content words with their Dutch forms, and the stems of the longer ones: read once per
    question, not once per candidate sentence."""
    asked = {word for word in folded_words(question) if word not in STOPWORDS}  # 'in', 'van' stay: patterns read them
    asked |= {phrase for phrase in phrased_words(question) if " " in phrase}
    asked |= {part for word in list(asked) for form in EXONYMS.get(word, ()) for part in form.split()}
    return frozenset(asked), tuple(_stem(word) for word in asked if len(word) >= 5)


def beyond_question(text: str, question: str) -> str:
    """The text with the question's own content words (and their Dutch forms) blanked out: what it says that
    the question does not. "Wie is de trainer van Jordan Stolz?" is not answered by a sentence whose only name is
    Jordan Stolz, nor "Hoeveel ... in 2019?" by a sentence whose only number is 2019."""
    asked, stems = _asked(question)

    def blank(match: re.Match[str]) -> str:
        word = folded_words(match.group(0))
        asks = bool(word) and (word[0] in asked or word[0].startswith(stems))
        return "x" if asks else match.group(0)

    return _WORD.sub(blank, text)


# A question that asks yes or no ("Did Belgium ask for leeway?", "Krijgen huurders ...?") asks for no type.
_YES_NO = re.compile(r"^(is|are|was|were|do|does|did|will|would|can|could|has|have|had|should|must|may)\b|"
                     r"^(is|zijn|was|waren|heeft|hebben|had|hadden|wordt|worden|werd|werden|kan|kunnen|kon|moet|"
                     r"moeten|mag|mogen|zal|zullen|gaat|gaan|komt|komen|krijgt|krijgen|blijft|blijven)\b")


def question_type(question: str) -> str:
    folded = fold(question)
    if re.match(r"(who|whom|wie)\b", folded):  # "Who were his lawyers when ...?" asks for persons, not a time
        return "person"
    if _YES_NO.match(folded):
        return "other"
    for name, pattern in _TYPE_PATTERNS:
        if pattern.search(folded):
            return name
    return "other"


_AGE = re.compile(r"\b\d+-jarige?\b|\b\d+ (jaar|maanden|maand|weken) (oud|geleden)?\b|\bvanaf \d+ (jaar|maanden)\b|"
                  r"\bleeftijd\b|\b(twintigers|dertigers|veertigers|"
                  r"vijftigers|zestigers|tieners)\b")
_MONEY = re.compile(r"€|\$|\b(euro|eurocent|cent|dollar|pond|miljoen|miljard|ton|kosten|kost|kostte|kostten|"
                    r"prijs|bedrag|betaald|boete|salaris)\b")
_CLOCK = re.compile(r"\b\d{1,2}[:.]\d\d\b|\b\d{1,2} uur\b|\b(middernacht|'s ochtends|'s avonds|'s middags|"
                    r"'s nachts)\b")


# What evidence of each question type looks like. Persons and places are read from capitals, so unfolded.
_EVIDENCE: dict[str, tuple[re.Pattern[str], bool]] = {
    "age": (_AGE, True), "money": (_MONEY, True), "clock": (_CLOCK, True), "number": (_NUMBER, True),
    "time": (_TIME, True), "reason": (_REASON, True), "person": (_PERSON, False), "place": (_PLACE, False),
}


def has_type(sentence: str, kind: str) -> bool:
    """Does the sentence carry what a question of this type asks for (an age, a sum of money, a number, a time,
    a person...)? Any sentence does for a question of no particular type."""
    if kind not in _EVIDENCE:
        return True
    pattern, folded = _EVIDENCE[kind]
    return bool(pattern.search(fold(sentence) if folded else sentence))
