"""Synthetic Adverse_Event sentences: few-shot LLM generation and offline drug/effect substitution.

Both draw only on the training part of the `pmid` split, so no synthetic sentence is built from
a validation or test abstract.
"""

from __future__ import annotations

import json
import logging
import random
import re
from pathlib import Path
from typing import Any

from pv_model.data import AE, Example, load_corpus, split, write_corpus

log = logging.getLogger(__name__)
FEW_SHOT = 5
PROMPT_HEADER = (
    "You write sentences in the style of PubMed case-report abstracts. Each sentence reports an "
    "adverse effect caused by a drug. Here are {n} real examples:\n\n"
)
PROMPT_FOOTER = (
    "\nWrite {k} new, different sentences of the same kind, with other drugs and other adverse "
    "effects. One sentence per line, no numbering, no commentary."
)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")


class TextGenerator:
    """One small interface over a text-generation endpoint: SageMaker (HF TGI) or Bedrock (Converse).

    `client` is a boto3 `sagemaker-runtime` or `bedrock-runtime` client (or a test double with
    the same method).
    """

    def __init__(
        self,
        backend: str,
        client: Any,
        target: str,
        max_new_tokens: int = 400,
        temperature: float = 0.9,
    ) -> None:
        if backend not in ("sagemaker", "bedrock"):
            raise ValueError(f"backend must be 'sagemaker' or 'bedrock', not {backend!r}")
        self.backend, self.client, self.target = backend, client, target
        self.max_new_tokens, self.temperature = max_new_tokens, temperature

    def generate(self, prompt: str) -> str:
        """The generated continuation for `prompt` (text only)."""
        if self.backend == "sagemaker":
            body = {
                "inputs": prompt,
                "parameters": {
                    "max_new_tokens": self.max_new_tokens,
                    "temperature": self.temperature,
                    "do_sample": True,
                    "return_full_text": False,
                },
            }
            response = self.client.invoke_endpoint(
                EndpointName=self.target,
                ContentType="application/json",
                Accept="application/json",
                Body=json.dumps(body),
            )
            payload = json.loads(response["Body"].read())
            first = payload[0] if isinstance(payload, list) else payload
            return str(first["generated_text"])
        response = self.client.converse(
            modelId=self.target,
            messages=[{"role": "user", "content": [{"text": prompt}]}],
            inferenceConfig={"maxTokens": self.max_new_tokens, "temperature": self.temperature},
        )
        return "".join(part.get("text", "") for part in response["output"]["message"]["content"])


def few_shot_prompt(examples: list[Example], k: int = 10) -> str:
    """The prompt: instructions, the real example sentences, and a request for `k` new ones."""
    shots = "".join(f"- {e.text}\n" for e in examples)
    return PROMPT_HEADER.format(n=len(examples)) + shots + PROMPT_FOOTER.format(k=k)


def parse_generated(text: str, seen: set[str]) -> list[str]:
    """Sentence lines from a generation: bullets stripped, too short/long or already seen dropped."""
    out = []
    for line in text.splitlines():
        sentence = _BULLET.sub("", line).strip().strip('"').strip()
        key = sentence.lower()
        if 20 <= len(sentence) <= 400 and key not in seen:
            seen.add(key)
            out.append(sentence)
    return out


def llm_augment(
    generator: TextGenerator, pool: list[Example], count: int, seed: int = 42, max_calls: int | None = None
) -> list[Example]:
    """Up to `count` synthetic Adverse_Event sentences, each call prompted with 5 real AE examples."""
    positives = [e for e in pool if e.label == AE]
    if len(positives) < FEW_SHOT:
        raise ValueError(f"need at least {FEW_SHOT} Adverse_Event examples to prompt with")
    rng = random.Random(seed)
    seen = {e.text.lower() for e in pool}
    out: list[Example] = []
    calls, limit = 0, max_calls if max_calls is not None else max(3, count)
    while len(out) < count and calls < limit:
        calls += 1
        shots = rng.sample(positives, FEW_SHOT)
        for sentence in parse_generated(generator.generate(few_shot_prompt(shots)), seen):
            out.append(Example(f"llm-{len(out)}", sentence, AE))
            if len(out) == count:
                break
    log.info("llm augmentation: %d sentences from %d calls", len(out), calls)
    return out


def _replace(text: str, old: str, new: str) -> str | None:
    at = text.lower().find(old.lower())
    return None if at < 0 else text[:at] + new + text[at + len(old) :]


def substitution_augment(examples: list[Example], per_positive: int, seed: int = 42) -> list[Example]:
    """Offline augmentation: copies of each AE sentence with its annotated drugs and effects swapped.

    Replacement drugs and effects come from the annotations of `examples` themselves, so the
    augmenter needs no endpoint. Sentences whose annotated strings cannot be found are skipped.
    """
    rng = random.Random(seed)
    positives = [e for e in examples if e.label == AE and e.drugs and e.effects]
    drugs = sorted({d for e in positives for d in e.drugs})
    effects = sorted({x for e in positives for x in e.effects})
    seen = {e.text.lower() for e in examples}
    out: list[Example] = []
    for example in positives:
        for copy in range(per_positive):
            text: str | None = example.text
            new_drugs: list[str] = []
            new_effects: list[str] = []
            for old, vocab, new_list in (
                *((d, drugs, new_drugs) for d in example.drugs),
                *((x, effects, new_effects) for x in example.effects),
            ):
                new = rng.choice(vocab)
                text = _replace(text, old, new) if text is not None else None
                new_list.append(new)
            if text is None or text.lower() in seen:
                continue
            seen.add(text.lower())
            out.append(Example(f"{example.pmid}-syn{copy}", text, AE, tuple(new_drugs), tuple(new_effects)))
    return out


def run(
    data_dir: str | Path,
    output: str | Path,
    mode: str = "substitute",
    count: int = 100,
    seed: int = 42,
    endpoint: str | None = None,
    model_id: str | None = None,
    client: Any = None,
) -> int:
    """`pv-model augment`: write synthetic AE sentences (from the pmid train part) as a corpus folder."""
    pool = split(load_corpus(data_dir), protocol="pmid", seed=seed).train
    if mode == "substitute":
        synthetic = substitution_augment(pool, count, seed=seed)
    else:
        target = endpoint if mode == "sagemaker" else model_id
        if not target:
            raise ValueError(f"mode {mode} needs {'--endpoint' if mode == 'sagemaker' else '--model-id'}")
        if client is None:
            import boto3

            client = boto3.client("sagemaker-runtime" if mode == "sagemaker" else "bedrock-runtime")
        synthetic = llm_augment(TextGenerator(mode, client, target), pool, count, seed=seed)
    write_corpus(synthetic, output)
    return len(synthetic)
