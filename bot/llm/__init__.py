"""The optional LLM answerer (``BOT_ANSWERER=openai|ollama``): the client with its deadline and the prompt
(:mod:`~bot.llm.client`), the answerer (:mod:`~bot.llm.answerer`), the reader of quote-anchored answers
(:mod:`~bot.llm.quotes`) and the quote check (:mod:`~bot.llm.grounding`, :mod:`~bot.llm.numbers`).
Imported only when settings name an LLM."""
