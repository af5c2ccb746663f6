"""The Nivesh assistant: a user's message in, one call of the platform's tools out, as strict JSON.

- :mod:`.tools` and :mod:`.normalise`: the tool set, JSON schemas, argument normalisation, parsing;
- :mod:`.data`: the hand-written data set (``data/assistant``) and its chat records;
- :mod:`.exports`: Hugging Face chat, Vertex AI Gemini and OpenAI fine-tuning formats;
- :mod:`.base`, :mod:`.local`: the LoRA backend (SmolLM2-135M-Instruct by default, CPU or GPU);
- :mod:`.vertex`: the Vertex AI backend (a Gemini supervised tuning job);
- :mod:`.train`, :mod:`.evaluate`, :mod:`.model`: the platform's three names.

Nothing heavy is imported here: the standalone GPU fine-tune imports the package with only
torch, transformers and peft installed.
"""
