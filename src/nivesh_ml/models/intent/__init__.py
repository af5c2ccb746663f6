"""Intent classification: route a user's message to one of Nivesh's 14 intents, or out of scope.

- :mod:`.config`: the labels, the base checkpoint and the fine-tuning recipe (``IntentConfig``).
- :mod:`.data`: the Nivesh splits, BANKING77, any labelled file, training-time noise.
- :mod:`.finetune`: fine-tuning the encoder with a classification head (torch).
- :mod:`.export`: ONNX fp32 + dynamic int8 bundle.
- :mod:`.model`: the served object (onnxruntime + tokenizers, no torch), an MLflow pyfunc.
- :mod:`.evaluate`: metrics, the out-of-scope threshold, ``evaluate`` on a labelled file.
- :mod:`.train`: the pipeline, ``train(settings, options)``.

Nothing is imported here, so the server can load :mod:`.model` without torch.
"""
