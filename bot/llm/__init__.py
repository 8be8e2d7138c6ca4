"""The optional LLM answerer (``BOT_ANSWERER=openai|ollama``): the client with its deadline
(:mod:`~bot.llm.client`), the answerer (:mod:`~bot.llm.answerer`) and the grounding check
(:mod:`~bot.llm.grounding`, :mod:`~bot.llm.numbers`). Imported only when settings name an LLM."""
