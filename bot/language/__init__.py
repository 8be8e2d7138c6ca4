"""Language: Dutch-aware text (files, paragraphs, sentences) and the linguistics of questions and answers."""
