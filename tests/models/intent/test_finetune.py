"""Fine-tuning pieces that need no training run: batching, optimiser groups, threads."""

from __future__ import annotations

import random

import torch

from nivesh_ml.models.intent.config import LABELS, IntentConfig
from nivesh_ml.models.intent.finetune import _batches, _optimizer, load_base, torch_threads


def test_batches_cover_every_row_once_in_similar_lengths() -> None:
    lengths = [random.Random(i).randrange(3, 60) for i in range(1000)]
    batches = _batches(lengths, 32, random.Random(0))
    rows = [row for batch in batches for row in batch]
    assert sorted(rows) == list(range(1000))
    assert all(len(batch) <= 32 for batch in batches)
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 10  # unsorted batches of 32 would spread across most of 3..60
    assert batches != _batches(lengths, 32, random.Random(1))


def test_the_new_head_learns_faster_than_the_encoder() -> None:
    config = IntentConfig()
    model, tokenizer = load_base(config, LABELS)
    assert model.config.id2label[0] == LABELS[0]
    assert model.config.num_labels == len(LABELS)
    optimizer = _optimizer(model, config)
    head = {id(p) for name, p in model.named_parameters() if "classifier" in name}
    for group in optimizer.param_groups:
        is_head = any(id(p) in head for p in group["params"])
        if is_head:
            assert group["lr"] == config.head_learning_rate
    rates = {group["lr"] for group in optimizer.param_groups}
    assert rates == {config.learning_rate, config.head_learning_rate}
    assert tokenizer("hello")["input_ids"][0] == tokenizer.cls_token_id


def test_torch_threads_are_restored() -> None:
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
