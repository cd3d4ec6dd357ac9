"""TransformersBackend on a tiny randomly initialised GPT-2 built from a config (no download)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import simrec  # noqa: E402,F401
from simrec.policies.llm import BackendError, TransformersBackend  # noqa: E402

from .conftest import grounded_run  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    chars = [chr(i) for i in range(32, 127)] + ["\n"]
    vocab = {"<unk>": 0, "<eos>": 1, **{c: i + 2 for i, c in enumerate(chars)}}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Split(Regex("."), "isolated")
    tk.decoder = decoders.Fuse()
    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", eos_token="<eos>",
                                               pad_token="<eos>")
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(vocab_size=len(vocab), n_positions=8192, n_embd=32, n_layer=1, n_head=2,
                                  eos_token_id=1, bos_token_id=1, pad_token_id=1)
    return transformers.GPT2LMHeadModel(cfg), tok


MSG = [{"role": "user", "content": "Recommend 3 items."}]


def test_seeded_sampling_is_deterministic_and_leaves_the_global_rng(tiny):
    b = TransformersBackend(*tiny, max_new_tokens=12)
    state = torch.random.get_rng_state()
    a1, a2 = b.complete(MSG, temperature=1.0, seed=5), b.complete(MSG, temperature=1.0, seed=5)
    assert a1 == a2 and isinstance(a1.text, str)
    assert torch.equal(state, torch.random.get_rng_state())
    others = {b.complete(MSG, temperature=1.0, seed=s).text for s in range(6)}
    assert len(others) > 1


def test_logprob_is_the_models_probability_of_its_answer(tiny):
    model, tok = tiny
    b = TransformersBackend(model, tok, max_new_tokens=8)
    out = b.complete(MSG, temperature=1.0, seed=2)
    prompt_ids = tok(b._prompt(MSG), return_tensors="pt")["input_ids"]
    new_ids = tok(out.text, return_tensors="pt")["input_ids"]
    ids = torch.cat([prompt_ids, new_ids], dim=1)
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0, :-1].double(), dim=-1)
    n = new_ids.shape[1]
    manual = float(logp[-n:].gather(1, ids[0, -n:, None]).sum())
    if n < 8:  # the model stopped: its end-of-sequence token counts too
        with torch.no_grad():
            manual += float(torch.log_softmax(model(ids).logits[0, -1].double(), -1)[1])
    assert out.logprob == pytest.approx(manual, abs=1e-3)


def test_policy_with_a_random_model_stays_grounded(tiny):
    pol = grounded_run(TransformersBackend(*tiny, max_new_tokens=24), num_envs=3, steps=3, n_samples=2)
    assert pol.propensity_type == "exact"
    print(f"\nrandom tiny GPT-2: fallback rate {pol.fallback_rate:.2f} over {pol.stats_['answers']} answers")
    assert pol.fallback_rate == 1.0  # a random model writes no usable JSON: all fall back, counted


def test_generation_failure_is_a_backend_error(tiny):
    model, tok = tiny
    b = TransformersBackend(model, tok, max_new_tokens=4)
    with pytest.raises(BackendError, match="generation failed"):
        b.complete([{"role": "user", "content": "x" * 9000}])  # longer than the model's positions
