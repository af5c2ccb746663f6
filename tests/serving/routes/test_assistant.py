"""POST /assistant/chat: PII is masked on the way in and on the way out, whatever the model says."""

from __future__ import annotations

import sys
from typing import Any

import cloudpickle

from nivesh_ml.config import Settings

from ..conftest import MakeClient
from ..tiny_models import TinyModel, register

REPLY = "Sure Rahul: PAN ABCDE1234F, phone +91-9876-543-210, card 4111.1111.1111.1111, a/c 123456789012."


class RepeatingAssistant(TinyModel):
    """An assistant that repeats PII it was never sent in this request (remembered, or made up)."""

    def serve(self, request: dict[str, Any]) -> Any:
        return {"reply": REPLY, "tool": "no_tool", "served_by": self.tag, "views": []}


def test_pii_in_the_reply_is_masked(fresh_settings: Settings, make_client: MakeClient) -> None:
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    register(fresh_settings, "assistant", RepeatingAssistant("assistant", "v1"))
    client = make_client(fresh_settings)
    response = client.post("/assistant/chat", json={"messages": [{"role": "user", "content": "my details?"}]})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["reply"] == "Sure Rahul: PAN [PAN], phone [PHONE], card [CARD], a/c [ACCOUNT]."
    assert (answer["tool"], answer["model_version"]) == ("no_tool", "1")  # the rest of the answer stays
