"""encoder=transformer: shapes, pooling, freezing, LoRA, gradient checkpointing, a pretrained directory
round trip and its errors. (The registered-encoder contract test builds it from its example too.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from gradient_passes import assert_gramian_is_k_passes, measured_gramian
from text_models import INPUTS, encoder_node, text_batch, text_model

from mtl_lab.batch import InputSpec
from mtl_lab.errors import ConfigError
from mtl_lab.models.encoders import ENCODERS, TransformerEncoder
from mtl_lab.text.pretrained import load_tokenizer


def build(**overrides: object) -> TransformerEncoder:
    torch.manual_seed(0)
    encoder = ENCODERS.build(encoder_node(**overrides), inputs=INPUTS)
    assert isinstance(encoder, TransformerEncoder)
    return encoder.eval()


def test_tokens_and_pooled_shapes_and_forward_is_pooled() -> None:
    encoder = build()
    inputs = text_batch().inputs
    tokens, pooled = encoder.encode(inputs)
    assert tokens.shape == (4, 8, 16) and pooled.shape == (4, 16) and encoder.out_dim == 16
    assert torch.equal(pooled, tokens[:, 0]) and torch.equal(encoder(inputs), pooled)
    assert encoder.input_names == ("input_ids", "attention_mask")
    assert encoder.model.pooler is None  # no parameter that no loss depends on (DDP)
    assert encoder.last_layer is encoder.model.encoder.layer[-1]


def test_mean_pooling_averages_real_tokens_and_ignores_padding() -> None:
    encoder = build(pooling="mean")
    inputs = text_batch().inputs
    tokens, pooled = encoder.encode(inputs)
    mask = inputs["attention_mask"].bool()
    for row in range(4):
        assert torch.allclose(pooled[row], tokens[row][mask[row]].mean(dim=0), atol=1e-6)
    changed = dict(inputs, input_ids=torch.where(mask, inputs["input_ids"], 7))  # other padding ids
    assert torch.allclose(encoder(changed), pooled, atol=1e-6)
    assert not torch.allclose(encoder.encode(changed)[0][~mask], tokens[~mask])  # padded states did change


def test_freeze_embeddings_and_the_first_layers() -> None:
    encoder = build(freeze={"embeddings": True, "layers": 1})
    bert = encoder.model
    assert not any(p.requires_grad for p in bert.embeddings.parameters())
    assert not any(p.requires_grad for p in bert.encoder.layer[0].parameters())
    assert all(p.requires_grad for p in bert.encoder.layer[1].parameters())
    assert (encoder.frozen_embeddings, encoder.frozen_layers) == (True, 1)
    with pytest.raises(ConfigError, match=r"^encoder.freeze.layers: 3 is not a number of layers .*\(0..2\)$"):
        build(freeze={"layers": 3})
    with pytest.raises(
        ConfigError, match="^encoder.freeze: unexpected key 'layer'; accepted keys: embeddings"
    ):
        build(freeze={"layer": 1})


def test_lora_trains_only_the_adapters() -> None:
    encoder = build(lora={"r": 4, "alpha": 8})
    trainable = {n: p for n, p in encoder.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    # 2 layers x (query, value) x (A [4, 16] + B [16, 4])
    assert sum(p.numel() for p in trainable.values()) == 2 * 2 * (4 * 16 + 16 * 4)
    assert sum(p.numel() for p in encoder.parameters()) > 10 * 512
    with pytest.raises(
        ConfigError,
        match=r"^encoder.lora.target_modules: no module 'qery' in BertModel; modules that exist: ",
    ) as error:
        build(lora={"target_modules": ["qery"]})
    assert "query" in str(error.value) and "value" in str(error.value)


@pytest.mark.parametrize("level", ["params", "representation"])
def test_lora_gramian_equals_k_separate_backward_passes(level: str) -> None:
    model, tasks = text_model(lora={"r": 2, "target_modules": ["query", "value"]})
    assert_gramian_is_k_passes(model, tasks, text_batch(), level)


def test_gradient_checkpointing_gives_the_same_gradients() -> None:
    model, tasks = text_model(gradient_checkpointing=True)
    assert model.architecture.encoder.model.is_activation_checkpointing  # type: ignore[union-attr]
    model.train()  # checkpoints are taken in training mode only (the config has no dropout)
    plain, _ = text_model()  # the same initialisation
    expected = measured_gramian(plain.train(), tasks, text_batch(), "params")
    assert torch.allclose(measured_gramian(model, tasks, text_batch(), "params"), expected, rtol=1e-4)


def test_bf16_autocast_gives_a_float32_gramian() -> None:
    model, tasks = text_model()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        gramian = measured_gramian(model, tasks, text_batch(), "representation")
    assert gramian.dtype == torch.float32 and torch.isfinite(gramian).all() and (gramian.diagonal() > 0).all()


def save_tiny_bert(directory: Path) -> torch.nn.Module:
    """A tiny BertModel and a WordPiece tokenizer written with save_pretrained into ``directory``."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "##s"]
    wordpiece = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    special = {"unk_token": "[UNK]", "pad_token": "[PAD]", "cls_token": "[CLS]", "sep_token": "[SEP]"}
    BertTokenizerFast(tokenizer_object=wordpiece, mask_token="[MASK]", **special).save_pretrained(directory)
    torch.manual_seed(1)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
    )
    model = BertModel(config).eval()
    model.save_pretrained(directory)
    return model


def test_a_saved_model_and_tokenizer_load_through_pretrained(tmp_path: Path) -> None:
    saved = save_tiny_bert(tmp_path)
    tokenizer = load_tokenizer(tmp_path, "data.tokenizer")
    batch = tokenizer(["The cats sat on the mat", "the cat"], padding=True, return_tensors="pt")
    assert batch["input_ids"][0].tolist() == [2, 5, 6, 10, 7, 8, 5, 9, 3]
    length = batch["input_ids"].shape[1]
    inputs = {
        name: InputSpec((length,), torch.long, vocab_size=len(tokenizer) if name == "input_ids" else None)
        for name in ("input_ids", "attention_mask", "token_type_ids")
    }
    torch.manual_seed(2)  # a different initialisation would show in the outputs
    encoder = ENCODERS.build({"name": "transformer", "pretrained": str(tmp_path)}, inputs=inputs)
    # from_pretrained leaves a model in eval mode; an encoder starts in training mode (dropout on) like
    # every nn.Module, since Lightning keeps the modes it finds
    assert all(module.training for module in encoder.modules())
    encoder.eval()
    assert encoder.input_names == ("input_ids", "attention_mask", "token_type_ids")
    tokens, pooled = encoder.encode(dict(batch))
    expected = saved(**batch).last_hidden_state
    assert torch.allclose(tokens, expected, atol=1e-6) and torch.allclose(pooled, expected[:, 0], atol=1e-6)
    with pytest.raises(ConfigError, match="max_position_embeddings is 16 but the data's sequences reach 20"):
        ENCODERS.build(
            {"name": "transformer", "pretrained": str(tmp_path)},
            inputs={"input_ids": InputSpec((20,), torch.long, vocab_size=11)},
        )


def test_pretrained_directory_errors_name_the_path_and_files(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError, match=f"^encoder.pretrained: {missing} is not a directory"):
        build(pretrained=str(missing))
    with pytest.raises(ConfigError, match=f"^encoder.pretrained: {tmp_path} has none of config.json$"):
        build(pretrained=str(tmp_path))


def test_input_and_config_errors_are_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^encoder=transformer reads the inputs input_ids .* gives image;"):
        ENCODERS.build({"name": "transformer"}, inputs={"image": InputSpec((1, 4, 4))})
    with pytest.raises(ConfigError, match=r"unknown model type 'bertt'.*did you mean 'bert'\?$"):
        build(config={"model_type": "bertt"})
    with pytest.raises(
        ConfigError, match="^encoder.config: the model has 10 token ids but the data's tokenizer 30"
    ):
        build(config={"vocab_size": 10, "hidden_size": 16, "num_attention_heads": 2})
    with pytest.raises(
        ConfigError, match="^encoder.transformer.pooling: expected 'cls' or 'mean', got 'max'"
    ):
        build(pooling="max")
