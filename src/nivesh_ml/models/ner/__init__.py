"""The NER model: MONEY, DATE, CATEGORY, MERCHANT and ACCOUNT spans in what users type about money.

A spaCy pipeline trained from ``spacy.blank("en")``: an EntityRuler for the spans rules get
exactly right (currency amounts, numeric dates) placed before a statistical NER whose tok2vec
hashes character features (prefix, suffix, shape) so unseen merchants still get a vector.

- :mod:`.config`: :class:`~.config.NerConfig` (network, schedule, data mix) and the labels;
- :mod:`.data`: labelled JSONL, the training mix, NLU++ in our conventions;
- :mod:`.rules`: the EntityRuler patterns and the guideline's trimming of predicted spans;
- :mod:`.train`: ``train(settings, options)``: fit, score, log, register, gate;
- :mod:`.model`: the served pyfunc (``extract``, ``serve``);
- :mod:`.evaluate`: ``evaluate(settings, data, alias)`` and the span metrics.

The annotation guideline is docs/NER_GUIDELINE.md.
"""
