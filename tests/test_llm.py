"""The LLM answerer against a scripted OpenAI-compatible (and Ollama) server on loopback, over real HTTP.

The real ``langchain-openai`` / ``langchain-ollama`` clients, the real model and index: only the LLM's words
are scripted. Each test asserts what the user sees: the text, which answerer wrote it, the note, what
the grounding check dropped.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
from pydantic import SecretStr

from bot.answering import Answer, Bot
from bot.settings import Settings
from tests.llm_server import Reply, Request, ScriptedLLMServer

pytestmark = [pytest.mark.usefixtures("indexed"), pytest.mark.slow]  # the real model and index

TIMEOUT = 2.0
RED_LINE_NL = "Wat is de rode lijn van de ChristenUnie?"
WAR_REFUGEES = "What status would war refugees get?"


@pytest.fixture(scope="module")
def server():
    server = ScriptedLLMServer().start()
    yield server
    server.stop()


def llm_settings(settings, **update):
    return settings.model_copy(update={"answerer": "openai", "llm_model": "scripted", "llm_timeout": TIMEOUT,
                                       "llm_retries": 1, **update})


@pytest.fixture(scope="module")
def bot(settings, indexed, server) -> Bot:
    return Bot(llm_settings(settings, llm_base_url=server.url))


def red_line_nl(r: Request) -> str:
    return (f"Voor oorlogsvluchtelingen met een B-status is gezinshereniging geen optie [{r.number_of('geen optie')}]. "
            f"Dat is voor de ChristenUnie een rode lijn [{r.number_of('rode lijn')}].")


def b_status_en(r: Request) -> str:
    return f"War refugees would get a B-status, with fewer rights [{r.number_of('B-status')}]."


INVENTED = "The VVD wants to send every war refugee back to Syria within a year [1]."


def collect(stream) -> tuple[list[str], Answer]:
    items = list(stream)
    assert isinstance(items[-1], Answer) and all(isinstance(i, str) for i in items[:-1])
    return items[:-1], items[-1]


def test_faithful_dutch_answer_is_shown_as_written(bot, server):
    server.reset(lambda r: Reply(red_line_nl(r)))
    a = bot.answer(RED_LINE_NL)
    request = server.answers()[0]
    assert a.text == red_line_nl(request)
    assert a.answerer == "openai" and a.note == "" and a.dropped == [] and not a.abstained
    assert a.language == "nl"
    cited = a.sources[request.number_of("rode lijn") - 1]
    assert cited.paragraph == 9 and "Voor de ChristenUnie is dit een rode lijn." in cited.highlight
    # the prompt: numbered passages, the question's language, citations, the fixed refusal phrase
    assert "[1] " in request.system and "Write your answer in Dutch" in request.system
    assert "Het artikel geeft geen antwoord op deze vraag." in request.system
    assert request.user == RED_LINE_NL and not request.stream


def test_faithful_english_answer_over_dutch_passages(bot, server):
    server.reset(lambda r: Reply(b_status_en(r)))
    a = bot.answer(WAR_REFUGEES)
    request = server.answers()[0]
    assert a.text == b_status_en(request) and a.answerer == "openai" and a.dropped == []
    assert "Write your answer in English" in request.system
    assert a.sources[request.number_of("B-status") - 1].paragraph == 8


def test_an_invented_sentence_is_dropped_and_the_rest_shown(bot, server):
    server.reset(lambda r: Reply(f"{b_status_en(r)} {INVENTED}"))
    a = bot.answer(WAR_REFUGEES)
    assert a.text == b_status_en(server.answers()[0])
    assert "Syria" not in a.text
    assert a.dropped == [INVENTED] and a.answerer == "openai"
    assert a.note == "1 generated sentence(s) removed: the article does not support them."


def test_a_sentence_citing_the_wrong_passage_falls_back_to_the_article(bot, server):
    wrong = {}

    def script(r: Request) -> Reply:
        wrong["text"] = f"War refugees would get a B-status, with fewer rights [{r.number_without('B-status')}]."
        return Reply(wrong["text"])

    server.reset(script)
    a = bot.answer(WAR_REFUGEES)
    assert a.answerer == "extractive" and a.text.startswith("According to the article:") and "B-status" in a.text
    assert a.dropped == [wrong["text"]]
    assert "not supported by the article" in a.note


def test_an_uncited_or_nonexistent_citation_is_dropped(bot, server):
    server.reset(lambda r: Reply(f"{b_status_en(r)} War refugees get fewer rights. They get a B-status [9]."))
    a = bot.answer(WAR_REFUGEES)
    assert a.text == b_status_en(server.answers()[0])
    assert a.dropped == ["War refugees get fewer rights.", "They get a B-status [9]."]


def test_a_refusal_shows_the_extractive_answer_with_a_note(bot, server):
    server.reset(lambda r: Reply("The article does not answer this question."))
    a = bot.answer(WAR_REFUGEES)
    assert a.answerer == "extractive" and "B-status" in a.text and not a.abstained
    assert a.note.startswith("The language model found no answer in the passages")
    assert a.dropped == []


def test_a_question_the_article_does_not_answer_never_reaches_the_llm(bot, server):
    server.reset(lambda r: Reply("Feyenoord [1]."))
    a = bot.answer("Wie werd er landskampioen voetbal?")
    assert a.abstained and "geen antwoord op deze vraag" in a.text
    assert server.requests == []


def test_a_timeout_falls_back_within_the_time_limit(bot, server):
    server.reset(lambda r: Reply(b_status_en(r), delay=30))
    start = time.monotonic()
    a = bot.answer(WAR_REFUGEES)
    elapsed = time.monotonic() - start
    assert a.answerer == "extractive" and "B-status" in a.text
    assert a.note == f"The language model could not answer (no answer within {TIMEOUT:g} s), so the article's own " \
                     "sentences are shown."
    assert elapsed < TIMEOUT + 5  # retrieval and composing included; no retry after a timeout
    assert len(server.requests) == 1


def test_a_server_error_is_retried_then_reported(bot, server):
    server.reset(lambda r: Reply(status=500))
    a = bot.answer(WAR_REFUGEES)
    assert a.answerer == "extractive" and "B-status" in a.text
    assert "HTTP 500" in a.note and "after 2 attempts" in a.note
    assert len(server.requests) == 2  # llm_retries=1


def test_a_passing_server_error_is_retried_and_the_answer_shown(bot, server):
    server.reset(lambda r: Reply(status=503) if len(server.requests) == 1 else Reply(b_status_en(r)))
    a = bot.answer(WAR_REFUGEES)
    assert a.answerer == "openai" and a.text == b_status_en(server.requests[-1])
    assert len(server.requests) == 2


def test_an_unreachable_server_falls_back(settings, indexed):
    closed = ScriptedLLMServer()
    url = closed.url
    closed.server_close()  # nothing listens on that port any more
    a = Bot(llm_settings(settings, llm_base_url=url)).answer(WAR_REFUGEES)
    assert a.answerer == "extractive" and "cannot reach the server" in a.note and "B-status" in a.text


def test_streaming_yields_the_llm_pieces_then_the_verified_answer(bot, server):
    server.reset(lambda r: Reply(red_line_nl(r)))
    pieces, final = collect(bot.stream(RED_LINE_NL))
    request = server.answers()[0]
    assert request.stream
    assert len(pieces) > 3 and "".join(pieces) == red_line_nl(request)
    assert final.text == red_line_nl(request) and final.answerer == "openai" and final.note == ""


def test_streaming_shows_the_verified_version_when_the_check_removes_something(bot, server):
    server.reset(lambda r: Reply(f"{b_status_en(r)} {INVENTED}"))
    pieces, final = collect(bot.stream(WAR_REFUGEES))
    assert "Syria" in "".join(pieces)  # streamed as the model wrote it...
    assert final.text == b_status_en(server.answers()[0]) and "Syria" not in final.text  # ...shown verified
    assert final.dropped == [INVENTED] and "removed" in final.note


def test_a_stream_that_stalls_is_cut_off_and_falls_back(bot, server):
    server.reset(lambda r: Reply(b_status_en(r) + " " + INVENTED, chunk_delay=0.8))
    start = time.monotonic()
    pieces, final = collect(bot.stream(WAR_REFUGEES))
    assert time.monotonic() - start < TIMEOUT + 5
    assert pieces  # some text came before the time ran out
    assert final.answerer == "extractive" and "no answer within" in final.note and "B-status" in final.text


def test_timeouts_leave_no_thread_behind(bot, server):
    """The deadline is enforced in the caller's thread: a hung or trickling server leaks no worker threads."""
    bot.answer(WAR_REFUGEES)  # connections and the model are up before counting
    before = {t.ident for t in threading.enumerate()}
    text = f"War refugees would get a B-status [1]. {INVENTED}"
    for reply in (Reply(text, delay=30), Reply(text, chunk_delay=0.8)):
        server.reset(lambda r, reply=reply: reply)
        for _ in range(2):
            _, final = collect(bot.stream(WAR_REFUGEES))
            assert "no answer within" in final.note
    # the scripted server's own handler threads sleep out their scripted delay: not the bot's
    leaked = [t.name for t in threading.enumerate() if t.ident not in before and t.is_alive()
              and "process_request_thread" not in t.name]
    assert leaked == []


def test_a_follow_up_is_rewritten_by_the_llm(bot, server):
    rewritten = "What did Carola Schouten say after the meeting?"

    def script(r: Request) -> Reply:
        if r.is_rewrite:
            return Reply(rewritten)
        return Reply(f'Carola Schouten zei na afloop: "Als het makkelijk was geweest, waren we er al uit geweest" '
                     f"[{r.number_of('makkelijk')}].")

    server.reset(script)
    history = [{"role": "user", "content": "Who is Carola Schouten?"},
               {"role": "assistant", "content": "According to the article: «Vicepremier Carola Schouten "
                                                "(ChristenUnie) gaf aan dat het overleg inhoudelijk verliep.» [1]"}]
    a = bot.answer("And what did she say after the meeting?", history=history)
    rewrite, answer_request = server.requests
    assert rewrite.is_rewrite and "Vicepremier Carola Schouten" in rewrite.user
    assert a.question == rewritten and answer_request.user == rewritten
    assert a.answerer == "openai" and "makkelijk" in a.text
    assert any(s.paragraph == 4 for s in a.sources)


def test_ollama_backend_over_its_own_api(settings, indexed, server):
    ollama = Bot(llm_settings(settings, answerer="ollama", llm_base_url=server.root))
    server.reset(lambda r: Reply(b_status_en(r)))
    a = ollama.answer(WAR_REFUGEES)
    assert server.requests[0].path == "/api/chat"
    assert a.answerer == "ollama" and a.text == b_status_en(server.requests[0])
    server.reset(lambda r: Reply(f"{b_status_en(r)} {INVENTED}"))
    pieces, final = collect(ollama.stream(WAR_REFUGEES))
    assert len(pieces) > 1 and final.dropped == [INVENTED]


def test_an_llm_answerer_without_a_model_name_is_refused(settings, indexed):
    with pytest.raises(ValueError, match="BOT_LLM_MODEL"):
        Bot(settings.model_copy(update={"answerer": "openai", "llm_model": ""}))


def test_the_api_key_is_sent_and_never_shown(settings, indexed, server):
    assert "sk-secret-123" not in repr(Settings(llm_api_key="sk-secret-123"))
    keyed = llm_settings(settings, llm_base_url=server.url, llm_api_key=SecretStr("sk-secret-123"))
    server.reset(lambda r: Reply(b_status_en(r)))
    Bot(keyed).answer(WAR_REFUGEES)
    assert server.requests[0].headers.get("authorization") == "Bearer sk-secret-123"


def test_the_default_answerer_imports_nothing_llm_related():
    code = (
        "import sys\n"
        "from bot.answering import Bot\n"
        "bot = Bot()\n"
        "assert bot.llm is None\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in {'langchain_openai', 'langchain_ollama', 'openai',"
        " 'ollama'} or m.startswith('bot.llm')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
