"""The evaluation's question sets: the seed set, the development corpus and the blind set.

Each article sits beside its questions (``foo.txt`` and ``foo.json``); the format is described in
``bot/eval_sets/README.md``. The seed set (``questions.json``, about ``data/article-nl-migratie.txt``) keeps
its own format; its categories come from ``questions.categories.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import PROJECT_DIR

SETS_DIR = Path(__file__).resolve().parent.parent / "eval_sets"
SEED_SET = SETS_DIR / "questions.json"
SEED_ARTICLE = PROJECT_DIR / "data" / "article-nl-migratie.txt"
CORPUS_DIR = SETS_DIR / "corpus"
BLIND_DIR = SETS_DIR / "blind"

ABSTAIN_CATEGORIES = ("unanswerable", "offtopic")


@dataclass(frozen=True)
class Question:
    id: str
    q: str
    file: str  # the article the question was written for
    category: str  # fact, number, date, name, reason, hop, exonym, unanswerable, offtopic, follow-up
    language: str
    gold: tuple[int, ...] = ()
    keys: tuple[tuple[str, ...], ...] = ()

    @property
    def abstain(self) -> bool:
        return self.category in ABSTAIN_CATEGORIES


@dataclass(frozen=True)
class Conversation:
    id: str
    file: str
    turns: tuple[Question, ...]


@dataclass
class QuestionSet:
    name: str
    articles: list[Path] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    conversations: list[Conversation] = field(default_factory=list)

    def files(self) -> list[str]:
        return [path.name for path in self.articles]


def _language(text: str) -> str:
    from bot.language.linguistics import language_of

    return language_of(text)


def _question(item: dict, file: str, category: str) -> Question:
    return Question(
        id=item["id"], q=item["q"], file=file, category=category, language=item.get("lang") or _language(item["q"]),
        gold=tuple(item.get("gold", ())), keys=tuple(tuple(group) for group in item.get("keys", ())),
    )


def _conversations(raw: list[dict], file: str) -> list[Conversation]:
    return [
        Conversation(conv["id"], file, tuple(
            _question({**turn, "id": f"{conv['id']}#{n}"}, file, "follow-up" if n else "fact")
            for n, turn in enumerate(conv["turns"])
        ))
        for conv in raw
    ]


def load_seed() -> QuestionSet:
    raw = json.loads(SEED_SET.read_text(encoding="utf-8"))
    offtopic = set(json.loads(SEED_SET.with_suffix(".categories.json").read_text(encoding="utf-8"))["offtopic"])
    file = raw["article"]
    result = QuestionSet("seed", [SEED_ARTICLE])
    for item in raw["items"]:
        category = ("offtopic" if item["id"] in offtopic else "unanswerable") if item.get("abstain") else "fact"
        result.questions.append(_question(item, file, category))
    result.conversations = _conversations(raw.get("conversations", []), file)
    return result


def load_folder(folder: Path, name: str) -> QuestionSet:
    result = QuestionSet(name)
    for questions_file in sorted(folder.glob("*.json")):
        raw = json.loads(questions_file.read_text(encoding="utf-8"))
        article = questions_file.with_suffix(".txt")
        if raw["article"] != article.name or not article.is_file():
            raise ValueError(f"{questions_file}: names {raw['article']!r}, but {article.name} is its article")
        result.articles.append(article)
        result.questions += [_question(item, article.name, item["category"]) for item in raw["items"]]
        result.conversations += _conversations(raw.get("conversations", []), article.name)
    return result


def development() -> QuestionSet:
    """The seed article and the development corpus: what rules and weights may be calibrated on."""
    seed, corpus = load_seed(), load_folder(CORPUS_DIR, "corpus")
    return QuestionSet("development", seed.articles + corpus.articles, seed.questions + corpus.questions,
                       seed.conversations + corpus.conversations)


def blind() -> QuestionSet:
    """Written by someone who never read the answerer's code; nothing is tuned on it."""
    return load_folder(BLIND_DIR, "blind")
