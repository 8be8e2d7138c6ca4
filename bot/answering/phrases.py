"""Every sentence the bot says to users on its own behalf, in English and Dutch, in one place."""

from __future__ import annotations

LANGUAGES = ("en", "nl")

# The extractive answerer: the lead of a quoted answer, and abstentions (one article, or several).
PHRASES = {
    "en": {
        "lead": "According to the article:",
        "no_answer": "The article does not answer this question.",
        "no_mention": "It does not mention {names}.",
        "about": "It is about: {titles}.",
        "no_answer_many": "The indexed articles do not answer this question.",
        "no_mention_many": "They do not mention {names}.",
        "about_many": "They are about: {titles}.",
        "closest_many": "The closest of the {count} indexed articles: {titles}.",
        "part_unanswered": "No answer was found to: {parts}",
        "empty": "Nothing has been indexed yet, so there is nothing to answer from.",
    },
    "nl": {
        "lead": "Volgens het artikel:",
        "no_answer": "Het artikel geeft geen antwoord op deze vraag.",
        "no_mention": "Het noemt {names} niet.",
        "about": "Het gaat over: {titles}.",
        "no_answer_many": "De geïndexeerde artikelen geven geen antwoord op deze vraag.",
        "no_mention_many": "Ze noemen {names} niet.",
        "about_many": "Ze gaan over: {titles}.",
        "closest_many": "De best passende van de {count} geïndexeerde artikelen: {titles}.",
        "part_unanswered": "Geen antwoord gevonden op: {parts}",
        "empty": "Er is nog niets geïndexeerd, dus er is niets om uit te antwoorden.",
    },
}

# Notes under an answer of the LLM answerer: sentences it dropped, or why the extractive answer is shown.
NOTES = {
    "en": {
        "dropped": "{n} generated sentence(s) removed: the article does not support them.",
        "unsupported": "The generated answer was not supported by the article, so the article's own sentences are "
                       "shown instead.",
        "refused": "The language model found no answer in the passages; these are the article's closest sentences.",
        "failed": "The language model could not answer ({reason}), so the article's own sentences are shown.",
    },
    "nl": {
        "dropped": "{n} gegenereerde zin(nen) weggelaten: het artikel onderbouwt ze niet.",
        "unsupported": "Het gegenereerde antwoord werd niet door het artikel onderbouwd; daarom staan hier de "
                       "zinnen uit het artikel zelf.",
        "refused": "Het taalmodel vond geen antwoord in de passages; dit zijn de best passende zinnen uit het artikel.",
        "failed": "Het taalmodel kon niet antwoorden ({reason}); daarom staan hier de zinnen uit het artikel zelf.",
    },
}

# What the LLM is told to answer when the passages do not answer; recognised as its refusal.
REFUSALS = [PHRASES[language]["no_answer"] for language in LANGUAGES]
