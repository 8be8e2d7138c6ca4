"""The embedding model: loading it (sentence-transformers by default, or the lean runtime) and LangChain
embeddings over it. Assembling it from its pinned wheels is :mod:`bot.model_fetch`."""
